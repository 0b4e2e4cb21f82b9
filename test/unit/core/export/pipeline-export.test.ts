import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { ExportModelSchema } from '../../../../src/shared/contract/export';
import { openDatabase } from '../../../../src/main/core/db/connection';
import { migrate } from '../../../../src/main/core/db/migrate';
import { migrations } from '../../../../src/main/core/db/migrations';
import { ModelRepository } from '../../../../src/main/core/db/model-repository';
import { exportToTriton } from '../../../../src/main/core/export/triton-export';
import { ModelCatalog } from '../../../../src/main/core/library/model-catalog';
import { installWhisper, TINY_WHISPER } from '../../../fixtures/whisper';
import { tempDir } from '../../../helpers/temp-dir';

// A Whisper is two graphs (encoder, decoder); its record's variant file is the decoder alone.
// Exported as one Triton model, the repository would hold a decoder that nothing can feed.
describe('a Triton export of a speech-to-text model', () => {
  const data = tempDir();
  const repository = tempDir();
  const models = join(data.path, 'models');
  const db = openDatabase(join(data.path, 'lodge.db'));
  migrate(db, migrations);
  const catalog = new ModelCatalog(models, new ModelRepository(db), pino({ level: 'silent' }));
  afterAll(() => {
    db.close();
    data.remove();
    repository.remove();
  });

  it('is refused in words, or carries every graph of the pipeline', async () => {
    installWhisper(TINY_WHISPER, models, 'test/whisper');
    catalog.refresh();
    const record = catalog.get('test/whisper');
    expect(record.task).toBe('speech-to-text');
    const request = ExportModelSchema.parse({ dir: repository.path });
    const outcome = await exportToTriton(record, request, { dataDir: data.path }).then(
      (result) => readdirSync(join(result.modelDir, '1')).sort(),
      (error: unknown) => (error instanceof Error ? error.message : String(error)),
    );
    // Before the fix: ['model.onnx'], the decoder alone, and the export said it succeeded.
    expect(outcome).toBe(
      'test/whisper is a speech-to-text model, a pipeline of 2 graphs (an audio encoder, a text decoder); Triton export takes single-graph models.',
    );
    expect(readdirSync(repository.path)).toEqual([]);
  });
});
