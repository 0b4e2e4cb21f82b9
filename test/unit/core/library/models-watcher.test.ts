import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { expandHome } from '../../../../src/main/core/library/home-path';
import { ModelsWatcher } from '../../../../src/main/core/library/models-watcher';
import { tempDir } from '../../../helpers/temp-dir';

describe('ModelsWatcher', () => {
  const dir = tempDir();
  const models = join(dir.path, 'models');
  mkdirSync(join(models, 'acme', 'one'), { recursive: true });
  afterAll(() => dir.remove());
  const logger = pino({ level: 'silent' });

  it('watches models/, each owner and each model folder, follows new ones, and stops on dispose', async () => {
    let changes = 0;
    let notify: () => void = () => undefined;
    const watcher = new ModelsWatcher(
      models,
      () => {
        changes += 1;
        notify();
      },
      logger,
      20,
    );
    const changed = () =>
      new Promise<void>((resolve) => {
        notify = resolve;
      });
    watcher.start();
    expect(watcher.watched).toBe(3);

    // A new owner with a model in it: seen at models/, then both of its folders are watched too.
    let next = changed();
    mkdirSync(join(models, 'fresh', 'model', 'onnx'), { recursive: true });
    await next;
    expect(watcher.watched).toBe(6);

    // A file copied into a model's own subfolder is a change too.
    next = changed();
    writeFileSync(join(models, 'fresh', 'model', 'onnx', 'model.onnx'), 'x');
    await next;

    next = changed();
    rmSync(join(models, 'fresh'), { recursive: true });
    await next;
    expect(watcher.watched).toBe(3);

    watcher.dispose();
    expect(watcher.watched).toBe(0);
    expect(changes).toBeGreaterThanOrEqual(3);
  });

  it('tells of nothing once disposed, even with a change still waiting', async () => {
    let changes = 0;
    const watcher = new ModelsWatcher(models, () => (changes += 1), logger, 20);
    watcher.start();
    mkdirSync(join(models, 'late'));
    watcher.dispose();
    // A watcher of its own sees the same change, well after the disposed one would have told of it.
    await new Promise<void>((resolve) => {
      const probe = new ModelsWatcher(
        models,
        () => {
          probe.dispose();
          resolve();
        },
        logger,
        100,
      );
      probe.start();
      rmSync(join(models, 'late'), { recursive: true });
    });
    expect(changes).toBe(0);
  });
});

describe('expandHome', () => {
  const home = () => '/home/ada';
  it.runIf(process.platform !== 'win32')('expands a leading ~ and ~/, as a shell would', () => {
    expect(expandHome('~', home)).toBe('/home/ada');
    expect(expandHome('~/Models/tiny', home)).toBe('/home/ada/Models/tiny');
    expect(expandHome('~/', home)).toBe('/home/ada');
  });
  it('leaves ~user, a ~ further in and plain paths as given', () => {
    expect(expandHome('~ada/Models', home)).toBe('~ada/Models');
    expect(expandHome('/data/~/x', home)).toBe('/data/~/x');
    expect(expandHome('Models/tiny', home)).toBe('Models/tiny');
  });
});
