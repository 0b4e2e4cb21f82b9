/** Where a command writes: results to `out` (stdout), progress and messages to `err` (stderr). */
export interface Output {
  out(text: string): void;
  err(text: string): void;
}
