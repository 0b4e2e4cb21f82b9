import protobuf, { type Enum, type Field, type Type } from 'protobufjs';

/** A value read from protobuf text format: scalars, enums by name, nested messages, repeated lists. */
export type PbtxtValue = string | number | boolean | PbtxtMessage | readonly PbtxtValue[];

/** A message read from protobuf text format, by field name; repeated fields hold arrays. */
export interface PbtxtMessage {
  readonly [field: string]: PbtxtValue;
}

/** Text that is not valid protobuf text format for the schema it was read against, and where. */
export class PbtxtError extends Error {
  override readonly name = 'PbtxtError';

  constructor(
    readonly line: number,
    readonly column: number,
    readonly reason: string,
  ) {
    super(`line ${line}, column ${column}: ${reason}`);
  }
}

type TokenKind = 'identifier' | 'number' | 'string' | 'symbol' | 'end';

interface Token {
  readonly kind: TokenKind;
  /** The token as written; for strings, the decoded value. */
  readonly text: string;
  readonly line: number;
  readonly column: number;
}

const SYMBOLS = new Set(['{', '}', '<', '>', '[', ']', ':', ',', ';']);
const ESCAPES: Readonly<Record<string, string>> = {
  n: '\n',
  t: '\t',
  r: '\r',
  '"': '"',
  "'": "'",
  '\\': '\\',
  a: '\x07',
  b: '\b',
  f: '\f',
  v: '\v',
  '?': '?',
};

/** Splits text format into tokens; `#` starts a comment that runs to the end of its line. */
function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let position = 0;
  let line = 1;
  let lineStart = 0;
  const fail = (reason: string): never => {
    throw new PbtxtError(line, position - lineStart + 1, reason);
  };
  while (position < text.length) {
    const char = text[position] as string;
    if (char === '\n') {
      position++;
      line++;
      lineStart = position;
      continue;
    }
    if (/\s/.test(char)) {
      position++;
      continue;
    }
    if (char === '#') {
      while (position < text.length && text[position] !== '\n') position++;
      continue;
    }
    const column = position - lineStart + 1;
    if (SYMBOLS.has(char)) {
      tokens.push({ kind: 'symbol', text: char, line, column });
      position++;
    } else if (char === '"' || char === "'") {
      let value = '';
      position++;
      for (;;) {
        const next = text[position];
        if (next === undefined || next === '\n') fail('a string is not closed on its line');
        position++;
        if (next === char) break;
        if (next !== '\\') {
          value += next;
          continue;
        }
        const escaped = text[position] ?? '';
        position++;
        const simple = ESCAPES[escaped];
        if (simple !== undefined) value += simple;
        else if (escaped === 'x' && /^[0-9a-fA-F]{1,2}/.test(text.slice(position))) {
          const hex = /^[0-9a-fA-F]{1,2}/.exec(text.slice(position))?.[0] ?? '';
          value += String.fromCharCode(Number.parseInt(hex, 16));
          position += hex.length;
        } else if ((escaped === 'u' || escaped === 'U') && /^[0-9a-fA-F]+/.test(text.slice(position))) {
          const length = escaped === 'u' ? 4 : 8;
          const hex = text.slice(position, position + length);
          const code = /^[0-9a-fA-F]+$/.test(hex) && hex.length === length ? Number.parseInt(hex, 16) : -1;
          if (code < 0 || code > 0x10ffff) fail(`"\\${escaped}${hex}" is not a Unicode escape`);
          value += String.fromCodePoint(code);
          position += length;
        } else if (/[0-7]/.test(escaped)) {
          const octal = escaped + (/^[0-7]{0,2}/.exec(text.slice(position))?.[0] ?? '');
          value += String.fromCharCode(Number.parseInt(octal, 8));
          position += octal.length - 1;
        } else fail(`"\\${escaped}" is not an escape text format knows`);
      }
      tokens.push({ kind: 'string', text: value, line, column });
    } else if (/[0-9.+-]/.test(char)) {
      const match =
        /^[+-]?(?:0[xX][0-9a-fA-F]+|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?[fF]?|inf(?:inity)?|nan)/i.exec(
          text.slice(position),
        );
      if (match === null) fail(`"${char}" does not start a number`);
      const number = (match as RegExpExecArray)[0];
      tokens.push({ kind: 'number', text: number, line, column });
      position += number.length;
    } else if (/[A-Za-z_]/.test(char)) {
      const word = /^[A-Za-z_][A-Za-z0-9_]*/.exec(text.slice(position))?.[0] ?? char;
      tokens.push({ kind: 'identifier', text: word, line, column });
      position += word.length;
    } else fail(`unexpected character "${char}"`);
  }
  tokens.push({ kind: 'end', text: '', line, column: position - lineStart + 1 });
  return tokens;
}

const INTEGER_RANGES: Readonly<Record<string, readonly [number, number]>> = {
  int32: [-(2 ** 31), 2 ** 31 - 1],
  sint32: [-(2 ** 31), 2 ** 31 - 1],
  sfixed32: [-(2 ** 31), 2 ** 31 - 1],
  uint32: [0, 2 ** 32 - 1],
  fixed32: [0, 2 ** 32 - 1],
  int64: [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
  sint64: [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
  sfixed64: [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
  uint64: [0, Number.MAX_SAFE_INTEGER],
  fixed64: [0, Number.MAX_SAFE_INTEGER],
};

/** Reads tokens against a message type, field by field. */
class Parser {
  #index = 0;

  constructor(private readonly tokens: readonly Token[]) {}

  get #token(): Token {
    return this.tokens[this.#index] as Token;
  }

  #fail(token: Token, reason: string): never {
    throw new PbtxtError(token.line, token.column, reason);
  }

  #take(): Token {
    const token = this.#token;
    if (token.kind !== 'end') this.#index++;
    return token;
  }

  #isSymbol(symbol: string): boolean {
    return this.#token.kind === 'symbol' && this.#token.text === symbol;
  }

  #expectSymbol(symbol: string, what: string): void {
    if (!this.#isSymbol(symbol))
      this.#fail(this.#token, `expected "${symbol}" ${what}, found ${describe(this.#token)}`);
    this.#index++;
  }

  /** Reads fields until `close` (a symbol), or the end of the text when close is null. */
  message(type: Type, close: string | null): PbtxtMessage {
    const out: Record<string, PbtxtValue> = {};
    const oneofs = new Map<string, string>();
    for (;;) {
      const token = this.#token;
      if (close === null ? token.kind === 'end' : this.#isSymbol(close)) {
        this.#index++;
        return out;
      }
      if (token.kind === 'end') this.#fail(token, `the message is not closed: expected "${close}"`);
      if (token.kind !== 'identifier') this.#fail(token, `expected a field name, found ${describe(token)}`);
      this.#index++;
      const field = type.fields[token.text];
      if (field === undefined) this.#fail(token, `${type.name} has no field "${token.text}"`);
      if (field.map) this.#fail(token, `map field "${field.name}" is not supported here`);
      if (!field.repeated && Object.hasOwn(out, field.name))
        this.#fail(token, `field "${field.name}" is set twice; it is not repeated`);
      const oneof = field.partOf?.name;
      if (oneof !== undefined) {
        const other = oneofs.get(oneof);
        if (other !== undefined && other !== field.name)
          this.#fail(token, `"${field.name}" and "${other}" are both set, but only one of ${oneof} may be`);
        oneofs.set(oneof, field.name);
      }
      const values = this.#fieldValues(field);
      if (field.repeated)
        out[field.name] = [...((out[field.name] as PbtxtValue[] | undefined) ?? []), ...values];
      else out[field.name] = values[0] as PbtxtValue;
      if (this.#isSymbol(',') || this.#isSymbol(';')) this.#index++;
    }
  }

  /** The value(s) after a field name: `: scalar`, `{ message }`, `< message >` or `: [list]`. */
  #fieldValues(field: Field): PbtxtValue[] {
    const resolved = field.resolvedType;
    const isMessage = resolved instanceof protobuf.Type;
    const colon = this.#isSymbol(':');
    if (colon) this.#index++;
    else if (!isMessage)
      this.#fail(this.#token, `expected ":" after "${field.name}", found ${describe(this.#token)}`);
    if (this.#isSymbol('[')) {
      const open = this.#take();
      if (!field.repeated) this.#fail(open, `"${field.name}" is not repeated, so it takes no [list]`);
      const values: PbtxtValue[] = [];
      if (this.#isSymbol(']')) {
        this.#index++;
        return values;
      }
      for (;;) {
        values.push(this.#singleValue(field));
        if (this.#isSymbol(']')) {
          this.#index++;
          return values;
        }
        this.#expectSymbol(',', 'between list elements');
      }
    }
    return [this.#singleValue(field)];
  }

  #singleValue(field: Field): PbtxtValue {
    const resolved = field.resolvedType;
    if (resolved instanceof protobuf.Type) {
      const open = this.#take();
      if (open.kind !== 'symbol' || (open.text !== '{' && open.text !== '<'))
        this.#fail(
          open,
          `"${field.name}" is a ${resolved.name} message: expected "{", found ${describe(open)}`,
        );
      return this.message(resolved, open.text === '{' ? '}' : '>');
    }
    const token = this.#take();
    if (token.kind === 'string' && (field.type === 'string' || field.type === 'bytes')) {
      // Adjacent literals are one string, as in C: "a" "b" is "ab".
      let text = token.text;
      while (this.#token.kind === 'string') text += this.#take().text;
      return text;
    }
    if (resolved instanceof protobuf.Enum)
      return enumValue(resolved, field, token, (reason) => this.#fail(token, reason));
    return scalarValue(field, token, (reason) => this.#fail(token, reason));
  }
}

function describe(token: Token): string {
  if (token.kind === 'end') return 'the end of the text';
  if (token.kind === 'string') return `the string "${token.text}"`;
  return `"${token.text}"`;
}

function enumValue(type: Enum, field: Field, token: Token, fail: (reason: string) => never): string {
  if (token.kind === 'identifier') {
    if (Object.hasOwn(type.values, token.text)) return token.text;
    return fail(`"${token.text}" is not a value of ${type.name} (field "${field.name}")`);
  }
  if (token.kind === 'number' && /^-?\d+$/.test(token.text)) {
    const name = type.valuesById[Number(token.text)];
    if (name !== undefined) return name;
    return fail(`${token.text} is not a value of ${type.name} (field "${field.name}")`);
  }
  return fail(`"${field.name}" takes a ${type.name} value by name, found ${describe(token)}`);
}

function scalarValue(field: Field, token: Token, fail: (reason: string) => never): string | number | boolean {
  const type = field.type;
  if (type === 'string' || type === 'bytes') {
    if (token.kind !== 'string') return fail(`"${field.name}" takes a string, found ${describe(token)}`);
    return token.text;
  }
  if (type === 'bool') {
    if (token.kind === 'identifier' && ['true', 'True', 't'].includes(token.text)) return true;
    if (token.kind === 'identifier' && ['false', 'False', 'f'].includes(token.text)) return false;
    if (token.kind === 'number' && (token.text === '1' || token.text === '0')) return token.text === '1';
    return fail(`"${field.name}" takes true or false, found ${describe(token)}`);
  }
  if (type === 'float' || type === 'double') {
    if (token.kind !== 'number' && token.kind !== 'identifier')
      return fail(`"${field.name}" takes a number, found ${describe(token)}`);
    const text = token.text.toLowerCase().replace(/^\+/, '');
    const sign = text.startsWith('-') ? -1 : 1;
    const bare = text.replace(/^-/, '');
    if (bare === 'inf' || bare === 'infinity') return sign * Number.POSITIVE_INFINITY;
    if (bare === 'nan') return Number.NaN;
    const value = token.kind === 'number' ? Number(text.replace(/f$/, '')) : Number.NaN;
    if (Number.isNaN(value)) return fail(`"${field.name}" takes a number, found ${describe(token)}`);
    return value;
  }
  const range = INTEGER_RANGES[type];
  if (range === undefined) return fail(`"${field.name}" has type ${type}, which this parser does not read`);
  if (token.kind !== 'number' || !/^[+-]?(?:0[xX][0-9a-fA-F]+|\d+)$/.test(token.text))
    return fail(`"${field.name}" takes an integer (${type}), found ${describe(token)}`);
  const negative = token.text.startsWith('-');
  const digits = token.text.replace(/^[+-]/, '');
  // As in protobuf: 0x… is hexadecimal, and a leading 0 makes the rest octal.
  if (/^0\d*[89]/.test(digits))
    return fail(`${token.text} is not an octal number (a leading 0 makes it one)`);
  const magnitude = /^0[xX]/.test(digits)
    ? Number.parseInt(digits.slice(2), 16)
    : /^0\d/.test(digits)
      ? Number.parseInt(digits, 8)
      : Number(digits);
  const value = negative ? -magnitude : magnitude;
  if (!Number.isSafeInteger(value) || value < range[0] || value > range[1])
    return fail(`${token.text} is out of range for "${field.name}" (${type})`);
  return value;
}

/**
 * Parses protobuf text format (what Triton's config.pbtxt is written in) strictly against the
 * message type `type` of a loaded .proto: messages in `{}` or `<>`, repeated fields written again
 * or as `[lists]`, enums by name, strings with escapes, numbers, booleans and `#` comments. An
 * unknown field, a value of the wrong type, an unknown enum name, a singular field set twice or
 * two members of one oneof throw a {@link PbtxtError} with the line and column.
 */
export function parsePbtxt(text: string, type: Type): PbtxtMessage {
  return new Parser(tokenize(text)).message(type, null);
}
