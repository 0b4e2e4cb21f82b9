import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import protobuf, { type Type } from 'protobufjs';
import { parsePbtxt, type PbtxtMessage } from './pbtxt';

/** The .proto beside this file: the subset of Triton's ModelConfig that Lodge writes. */
export const TRITON_PROTO_FILE = join(import.meta.dirname, 'triton-model-config.proto');

/** `inference.ModelConfig` from a .proto (by default {@link TRITON_PROTO_FILE}), every type resolved. */
export function tritonConfigType(protoFile = TRITON_PROTO_FILE): Type {
  const { root } = protobuf.parse(readFileSync(protoFile, 'utf8'), { keepCase: true });
  root.resolveAll();
  return root.lookupType('inference.ModelConfig');
}

/** Parses config.pbtxt text against `inference.ModelConfig`; throws a PbtxtError where it is not valid. */
export function parseTritonConfig(text: string, type: Type = tritonConfigType()): PbtxtMessage {
  return parsePbtxt(text, type);
}
