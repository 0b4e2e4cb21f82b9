import { seededRandom } from '../llm/random';

/**
 * Seeded standard normal noise: mulberry32 uniforms turned Gaussian by Box–Muller (both values of
 * each pair used). One stream per image: its first latents, then the ancestral sampler's noise.
 */
export function gaussianNoise(seed: number): (count: number) => Float32Array {
  const random = seededRandom(seed);
  return (count) => {
    const values = new Float32Array(count);
    for (let index = 0; index < count; index += 2) {
      const radius = Math.sqrt(-2 * Math.log(1 - random()));
      const angle = 2 * Math.PI * random();
      values[index] = radius * Math.cos(angle);
      if (index + 1 < count) values[index + 1] = radius * Math.sin(angle);
    }
    return values;
  };
}
