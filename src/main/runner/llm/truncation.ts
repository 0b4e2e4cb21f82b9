// The tokens sampling keeps under top-k, top-p and min-p, in one pass over the vocabulary and a
// sort of the few that can be kept: the weights are bucketed by how far below the best logit they
// lie, the buckets give a cut that surely holds every kept token, and only the tokens above the cut
// are sorted. (Widening a top-k heap until it covered top-p took 3–60 ms a token at 151,936
// tokens when the distribution was broad; this takes 2–5, and 17 on a flat one.)

/** Buckets per nat of distance below the best token's weight, and the nats they cover. */
const BUCKETS_PER_NAT = 8;
const NATS = 64;
/** The last bucket takes everything further down (and -Infinity, and NaN with weight 0). */
const BUCKETS = BUCKETS_PER_NAT * NATS + 1;
/** Ids sort inside a key as its low bits: vocabularies up to 2^20 tokens. */
const ID_BITS = 2 ** 20;

/** What sampling keeps: ids largest logit first (ties: lowest id), their weights, their total. */
export interface Kept {
  readonly ids: number[];
  readonly weights: number[];
  readonly mass: number;
  /** The whole vocabulary's weight (the softmax denominator). */
  readonly total: number;
}

/** Scratch buffers for {@link keptTokens}, kept between calls so a step allocates nothing large. */
export class TruncationScratch {
  weights = new Float64Array(0);
  buckets = new Uint16Array(0);
  keys = new Float64Array(0);
  readonly mass = new Float64Array(BUCKETS);
  readonly count = new Uint32Array(BUCKETS);

  /** Buffers for `vocab` tokens, the buckets emptied. */
  fit(vocab: number): void {
    this.weightsFor(vocab);
    if (this.buckets.length < vocab) {
      this.buckets = new Uint16Array(vocab);
      this.keys = new Float64Array(vocab);
    }
    this.mass.fill(0);
    this.count.fill(0);
  }

  /** A weight per token for `vocab` tokens (also the full-softmax draw's, between its two passes). */
  weightsFor(vocab: number): Float64Array {
    if (this.weights.length < vocab) this.weights = new Float64Array(vocab);
    return this.weights;
  }
}

/**
 * The tokens kept from `logits` (best logit `max`, weights e^((logit - max) · `inverse`)): in order
 * of logit, at most `limit`, stopping before the first whose weight is below `floor` (min-p,
 * relative to the best token's weight of 1) and after the one that brings the kept mass to `topP`
 * of the whole distribution's.
 */
export function keptTokens(
  logits: Float32Array,
  max: number,
  inverse: number,
  limit: number,
  topP: number,
  floor: number,
  scratch: TruncationScratch,
): Kept {
  const vocab = logits.length;
  scratch.fit(vocab);
  const { weights, buckets, mass, count } = scratch;
  let total = 0;
  for (let index = 0; index < vocab; index++) {
    const below = (max - (logits[index] as number)) * inverse;
    // NaN and -Infinity fail the first test: the last bucket, with no weight.
    const bucket = below < NATS ? Math.floor(below * BUCKETS_PER_NAT) : BUCKETS - 1;
    const weight = below < Infinity ? Math.exp(-below) : 0;
    weights[index] = weight;
    buckets[index] = bucket;
    mass[bucket] = (mass[bucket] as number) + weight;
    count[bucket] = (count[bucket] as number) + 1;
    total += weight;
  }

  // Every kept token lies in buckets 0..cut: a bucket holds tokens further down than all before it.
  // One more occupied bucket than the rules ask for absorbs the rounding of adding the masses in
  // another order.
  const lowest = floor > 0 ? -Math.log(floor) : Infinity;
  let cut = BUCKETS - 1;
  let massSoFar = 0;
  let countSoFar = 0;
  for (let bucket = 0; bucket < BUCKETS; bucket++) {
    massSoFar += mass[bucket] as number;
    countSoFar += count[bucket] as number;
    // (top-p 1 keeps all but what the other rules drop: the masses' rounding must not cut it short.)
    const done =
      (topP < 1 && massSoFar >= topP * total) ||
      countSoFar >= limit ||
      (bucket + 1) / BUCKETS_PER_NAT > lowest;
    if (done) {
      cut = bucket + 1;
      while (cut < BUCKETS - 1 && count[cut] === 0) cut++;
      cut = Math.min(BUCKETS - 1, cut);
      break;
    }
  }

  const ids: number[] = [];
  const kept: number[] = [];
  let candidates = 0;
  const keys = scratch.keys;
  const bits = new Uint32Array(logits.buffer, logits.byteOffset, vocab);
  for (let index = 0; index < vocab; index++) {
    // Beyond the cut, or never drawn (a masked -Infinity, a NaN).
    if ((buckets[index] as number) > cut || weights[index] === 0) continue;
    // Larger logits first: the float's bits made to order as unsigned numbers, then reversed
    // (-0 read as 0, which it equals).
    const raw = bits[index] === 0x80000000 ? 0 : (bits[index] as number);
    const ordered = raw >= 0x80000000 ? ~raw >>> 0 : (raw | 0x80000000) >>> 0;
    keys[candidates++] = (0xffffffff - ordered) * ID_BITS + index;
  }
  const sorted = keys.subarray(0, candidates).sort();
  let keptMass = 0;
  for (let at = 0; at < candidates && ids.length < limit; at++) {
    const key = sorted[at] as number;
    const id = key - Math.floor(key / ID_BITS) * ID_BITS;
    const weight = weights[id] as number;
    if (floor > 0 && weight < floor) break;
    ids.push(id);
    kept.push(weight);
    keptMass += weight;
    if (keptMass / total >= topP) break;
  }
  return { ids, weights: kept, mass: keptMass, total };
}

/** Whether {@link keptTokens} can sort a vocabulary of `vocab` ids in its keys. */
export function truncatesInKeys(vocab: number): boolean {
  return vocab <= ID_BITS;
}
