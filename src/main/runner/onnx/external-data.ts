// ONNX weights kept outside the graph (`external_data`: location, offset, length), read and written
// one tensor at a time with positioned reads and writes, so a rewrite of a multi-gigabyte export
// holds one tensor in memory, never the model. Locations are read only inside the model's folder.
import { closeSync, fstatSync, openSync, readSync, realpathSync, statSync, writeSync } from 'node:fs';
import { isAbsolute, relative, resolve, sep, win32 } from 'node:path';
import { onnx } from 'onnx-proto';
import { RunnerError } from '../runner-error';

const EXTERNAL = onnx.TensorProto.DataLocation.EXTERNAL;
/** Bytes one read or write moves at most: copies of large tensors go through a buffer this big. */
const CHUNK = 16 * 1024 * 1024;
/** Tensors in a written data file start at multiples of this (so their floats lie aligned). */
const ALIGNMENT = 64;

/** True when `tensor`'s bytes live in an external data file. */
export function isExternal(tensor: onnx.ITensorProto): boolean {
  return tensor.dataLocation === EXTERNAL;
}

/** Where an external tensor's bytes lie: a file relative to the model's folder, and a byte range. */
export interface ExternalRange {
  readonly location: string;
  readonly offset: number;
  /** Null where the entry names none: the bytes run to the end of the file. */
  readonly length: number | null;
}

/** The `external_data` entries of `tensor`, checked: a location, and whole non-negative numbers. */
export function externalRange(tensor: onnx.ITensorProto): ExternalRange {
  const entries = new Map((tensor.externalData ?? []).map((entry) => [entry.key ?? '', entry.value ?? '']));
  const location = entries.get('location') ?? '';
  const number = (key: string): number | null => {
    const text = entries.get(key);
    if (text === undefined) return null;
    if (!/^\d+$/.test(text)) throw refused(tensor, `gives its external data a ${key} of "${text}"`);
    return Number(text);
  };
  if (location === '') throw refused(tensor, 'is external but names no location');
  return { location, offset: number('offset') ?? 0, length: number('length') };
}

/**
 * The file `location` names in `folder`. Only files inside the folder are read: a location that is
 * absolute, or that leaves the folder through `..`, is refused (a downloaded model must not make
 * Lodge read, and copy into its cache, a file elsewhere on the machine).
 */
export function resolveInside(folder: string, location: string, tensor: onnx.ITensorProto): string {
  if (isAbsolute(location) || win32.isAbsolute(location) || location.includes('\0'))
    throw refused(tensor, `names its external data by an absolute path; ${BESIDE}`);
  const file = resolve(folder, location);
  const inside = relative(folder, file);
  if (inside === '' || inside === '..' || inside.startsWith(`..${sep}`) || isAbsolute(inside))
    throw refused(
      tensor,
      `names its external data "${location}", which leaves the model's folder; ${BESIDE}`,
    );
  return file;
}

const BESIDE =
  'Lodge reads weights only from files in the folder of the model, so re-export or re-download it';

function isRegularFile(file: string): boolean {
  try {
    return statSync(file).isFile();
  } catch {
    return false;
  }
}

function refused(tensor: onnx.ITensorProto, what: string): RunnerError {
  return new RunnerError('model_load_failed', `The model's tensor "${tensor.name ?? ''}" ${what}.`);
}

/** Reads external tensors of one model's folder, one open descriptor per data file. */
export class ExternalReader {
  readonly #folder: string;
  readonly #files = new Map<string, { fd: number; size: number }>();

  constructor(folder: string) {
    this.#folder = resolve(folder);
  }

  /** Checks that `tensor`'s bytes lie inside a data file in the folder; throws where they do not. */
  check(tensor: onnx.ITensorProto): { fd: number; offset: number; length: number } {
    const range = externalRange(tensor);
    const file = resolveInside(this.#folder, range.location, tensor);
    let opened = this.#files.get(file);
    if (opened === undefined) {
      let fd: number;
      // A FIFO or a device in the data file's place would block the load or never end.
      if (!isRegularFile(file))
        throw refused(
          tensor,
          `keeps its data in "${range.location}", which is missing or not a regular file`,
        );
      // A link to a file elsewhere leaves the folder as `..` does (onnxruntime refuses it too).
      const real = relative(realpathSync(this.#folder), realpathSync(file));
      if (real === '' || real === '..' || real.startsWith(`..${sep}`) || isAbsolute(real))
        throw refused(
          tensor,
          `keeps its data in "${range.location}", a link to a file outside the model's folder; ${BESIDE}`,
        );
      try {
        fd = openSync(file, 'r');
      } catch {
        throw refused(tensor, `keeps its data in "${range.location}", which is missing or cannot be read`);
      }
      opened = { fd, size: fstatSync(fd).size };
      this.#files.set(file, opened);
    }
    const length = range.length ?? opened.size - range.offset;
    if (length < 0 || range.offset + length > opened.size)
      throw refused(tensor, `runs past the end of its data file "${range.location}"`);
    return { fd: opened.fd, offset: range.offset, length };
  }

  /** The bytes of the external `tensor`. */
  read(tensor: onnx.ITensorProto): Uint8Array {
    const { fd, offset, length } = this.check(tensor);
    const bytes = new Uint8Array(length);
    readFully(fd, bytes, 0, length, offset);
    return bytes;
  }

  /** Copies the external `tensor`'s bytes into `writer` a chunk at a time, and points it there. */
  copy(tensor: onnx.ITensorProto, writer: DataFileWriter, buffer: Uint8Array): void {
    const { fd, offset, length } = this.check(tensor);
    const start = writer.begin();
    for (let done = 0; done < length;) {
      const size = Math.min(buffer.length, length - done);
      readFully(fd, buffer, 0, size, offset + done);
      writer.write(buffer.subarray(0, size));
      done += size;
    }
    writer.finish(tensor, start, length);
  }

  /** Closes every data file it opened. */
  dispose(): void {
    for (const { fd } of this.#files.values()) closeSync(fd);
    this.#files.clear();
  }
}

/** A fresh buffer for `ExternalReader.copy`. */
export function copyBuffer(): Uint8Array {
  return new Uint8Array(CHUNK);
}

/** Appends tensors' bytes to one data file and points the tensors at it by `location`. */
export class DataFileWriter {
  readonly #fd: number;
  readonly #location: string;
  #size = 0;

  /** Writes to `file` (a temporary name); the graph names the data file `location`. */
  constructor(file: string, location: string) {
    this.#fd = openSync(file, 'w');
    this.#location = location;
  }

  /** Bytes written so far. */
  get size(): number {
    return this.#size;
  }

  /** Stores `bytes` as `tensor`'s data: appended to the file, the tensor made external. */
  append(tensor: onnx.ITensorProto, bytes: Uint8Array): void {
    const start = this.begin();
    this.write(bytes);
    this.finish(tensor, start, bytes.byteLength);
  }

  /** Pads to the next aligned offset, where the next tensor starts; returns that offset. */
  begin(): number {
    const padding = (ALIGNMENT - (this.#size % ALIGNMENT)) % ALIGNMENT;
    if (padding > 0) this.write(new Uint8Array(padding));
    return this.#size;
  }

  /** Appends `bytes` (part of a tensor). */
  write(bytes: Uint8Array): void {
    for (let done = 0; done < bytes.byteLength;)
      done += writeSync(this.#fd, bytes, done, Math.min(CHUNK, bytes.byteLength - done), this.#size + done);
    this.#size += bytes.byteLength;
  }

  /** Points `tensor` at the `length` bytes written from `offset`. */
  finish(tensor: onnx.ITensorProto, offset: number, length: number): void {
    tensor.rawData = new Uint8Array(0);
    tensor.dataLocation = EXTERNAL;
    tensor.externalData = [
      { key: 'location', value: this.#location },
      { key: 'offset', value: String(offset) },
      { key: 'length', value: String(length) },
    ];
  }

  /** Closes the file. */
  dispose(): void {
    closeSync(this.#fd);
  }
}

function readFully(fd: number, target: Uint8Array, at: number, length: number, position: number): void {
  for (let done = 0; done < length;) {
    const got = readSync(fd, target, at + done, Math.min(CHUNK * 64, length - done), position + done);
    if (got === 0)
      throw new RunnerError(
        'model_load_failed',
        "A model's data file ended before its tensor did (was it changed while being read?).",
      );
    done += got;
  }
}
