import { RunnerError } from '../runner-error';

/** The samplers Lodge runs, each implemented from the diffusers scheduler of the same family. */
export type SamplerKind = 'euler-ancestral' | 'euler' | 'dpmpp-2m';

/** What `scheduler/scheduler_config.json` says, with diffusers' defaults where it is silent. */
export interface SchedulerConfig {
  readonly kind: SamplerKind;
  /** The `_class_name` the file names (a class Lodge has no sampler for runs as DPM-Solver++ 2M). */
  readonly className: string;
  readonly trainTimesteps: number;
  readonly betaStart: number;
  readonly betaEnd: number;
  readonly betaSchedule: 'scaled_linear' | 'linear';
  readonly predictionType: 'epsilon' | 'v_prediction';
  readonly timestepSpacing: 'linspace' | 'leading' | 'trailing';
  readonly stepsOffset: number;
}

const KINDS: Readonly<Record<string, SamplerKind>> = {
  EulerAncestralDiscreteScheduler: 'euler-ancestral',
  EulerDiscreteScheduler: 'euler',
  DPMSolverMultistepScheduler: 'dpmpp-2m',
};

/**
 * Reads a scheduler config. PNDM, DDIM, LMS and the like (SD 1.x ships PNDM) share the same noise
 * schedule, so they run as DPM-Solver++ 2M over it; a schedule Lodge cannot compute is refused.
 */
export function readSchedulerConfig(json: Record<string, unknown>): SchedulerConfig {
  const text = (key: string, fallback: string) => (typeof json[key] === 'string' ? json[key] : fallback);
  const number = (key: string, fallback: number) =>
    typeof json[key] === 'number' && Number.isFinite(json[key]) ? json[key] : fallback;
  const className = text('_class_name', 'EulerDiscreteScheduler');
  const betaSchedule = text('beta_schedule', 'linear');
  if (betaSchedule !== 'scaled_linear' && betaSchedule !== 'linear')
    throw new RunnerError(
      'model_load_failed',
      `The scheduler's beta_schedule "${betaSchedule}" is not supported; Lodge computes scaled_linear and linear.`,
    );
  const predictionType = text('prediction_type', 'epsilon');
  if (predictionType !== 'epsilon' && predictionType !== 'v_prediction')
    throw new RunnerError(
      'model_load_failed',
      `The scheduler's prediction_type "${predictionType}" is not supported; Lodge runs epsilon and v_prediction.`,
    );
  const spacing = text('timestep_spacing', 'linspace');
  if (spacing !== 'linspace' && spacing !== 'leading' && spacing !== 'trailing')
    throw new RunnerError(
      'model_load_failed',
      `The scheduler's timestep_spacing "${spacing}" is not supported; Lodge runs linspace, leading and trailing.`,
    );
  const trainTimesteps = Math.round(number('num_train_timesteps', 1000));
  if (trainTimesteps < 2 || trainTimesteps > 100_000)
    throw new RunnerError('model_load_failed', `The scheduler's num_train_timesteps is out of range.`);
  return {
    kind: KINDS[className] ?? 'dpmpp-2m',
    className,
    trainTimesteps,
    betaStart: number('beta_start', 0.0001),
    betaEnd: number('beta_end', 0.02),
    betaSchedule,
    predictionType,
    timestepSpacing: spacing,
    stepsOffset: Math.round(number('steps_offset', 0)),
  };
}
