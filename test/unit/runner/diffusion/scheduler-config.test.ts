import { describe, expect, it } from 'vitest';
import { Sampler } from '../../../../src/main/runner/diffusion/sampler';
import { readSchedulerConfig } from '../../../../src/main/runner/diffusion/scheduler-config';
import { RunnerError } from '../../../../src/main/runner/runner-error';

describe('scheduler_config.json', () => {
  it('names the sampler by the scheduler class, and runs other classes as DPM-Solver++ 2M', () => {
    expect(readSchedulerConfig({ _class_name: 'EulerAncestralDiscreteScheduler' }).kind).toBe(
      'euler-ancestral',
    );
    expect(readSchedulerConfig({ _class_name: 'EulerDiscreteScheduler' }).kind).toBe('euler');
    expect(readSchedulerConfig({ _class_name: 'DPMSolverMultistepScheduler' }).kind).toBe('dpmpp-2m');
    const pndm = readSchedulerConfig({ _class_name: 'PNDMScheduler', skip_prk_steps: true });
    expect(pndm).toMatchObject({ kind: 'dpmpp-2m', className: 'PNDMScheduler' });
  });

  it('takes diffusers’ defaults where the file is silent', () => {
    expect(readSchedulerConfig({})).toMatchObject({
      trainTimesteps: 1000,
      betaStart: 0.0001,
      betaEnd: 0.02,
      betaSchedule: 'linear',
      predictionType: 'epsilon',
      timestepSpacing: 'linspace',
      stepsOffset: 0,
    });
  });

  it('refuses what it cannot compute with a load error that names the field', () => {
    const refused = (json: Record<string, unknown>) => {
      try {
        readSchedulerConfig(json);
      } catch (error) {
        expect(error).toBeInstanceOf(RunnerError);
        return error as RunnerError;
      }
      throw new Error('not refused');
    };
    expect(refused({ beta_schedule: 'squaredcos_cap_v2' })).toMatchObject({
      code: 'model_load_failed',
      message: expect.stringContaining('beta_schedule "squaredcos_cap_v2"'),
    });
    expect(refused({ prediction_type: 'sample' }).message).toContain('prediction_type');
    expect(refused({ timestep_spacing: 'karras' }).message).toContain('timestep_spacing');
    expect(refused({ num_train_timesteps: 1 }).message).toContain('num_train_timesteps');
  });
});

describe('the samplers’ last step', () => {
  const config = (name: string) =>
    readSchedulerConfig({
      _class_name: name,
      beta_schedule: 'scaled_linear',
      beta_start: 0.00085,
      beta_end: 0.012,
      timestep_spacing: 'trailing',
    });

  it('lands on the predicted clean sample (σ = 0) with epsilon prediction', () => {
    // One step from x with predicted noise ε ends at x − σ·ε for Euler and Euler ancestral (σ_up = 0).
    for (const name of ['EulerDiscreteScheduler', 'EulerAncestralDiscreteScheduler']) {
      const sampler = new Sampler(config(name), 1);
      const sigma = sampler.schedule.sigmas[0] as number;
      const sample = Float32Array.of(10, -5);
      const noise = Float32Array.of(0.5, 0.25);
      const next = sampler.step(0, noise, sample, () => Float32Array.of(100, 100));
      expect(next[0]).toBeCloseTo(10 - sigma * 0.5, 4);
      expect(next[1]).toBeCloseTo(-5 - sigma * 0.25, 4);
    }
    // DPM-Solver++ converts to x₀ = (x − σ_t ε) / α_t and its first-order step to σ = 0 returns it.
    const dpm = new Sampler(config('DPMSolverMultistepScheduler'), 1);
    const sigma = dpm.schedule.sigmas[0] as number;
    const alpha = 1 / Math.sqrt(sigma * sigma + 1);
    const next = dpm.step(0, Float32Array.of(0.5), Float32Array.of(2), () => new Float32Array(1));
    expect(next[0]).toBeCloseTo((2 - sigma * alpha * 0.5) / alpha, 4);
  });
});
