// Where the generation loop gets a grammar mask: one ModelGrammars per loaded model, made the
// first time a request of that model asks for a grammar.
import type { GrammarSpec } from '../../../shared/grammar';
import type { LanguageModel } from '../llm/language-model';
import { GrammarMask } from './grammar-mask';
import { ModelGrammars } from './model-grammars';

// NOTE: keyed by the model object, so a released model's compiler goes with it; a runner holds one
// model, so this holds at most one entry in practice.
const perModel = new WeakMap<LanguageModel, Promise<ModelGrammars>>();

/** The grammar engine for `model`, prepared on first use and shared by its requests. */
export function modelGrammars(model: LanguageModel): Promise<ModelGrammars> {
  let grammars = perModel.get(model);
  if (!grammars) {
    grammars = ModelGrammars.create(model.tokenizer.json, model.eosIds, model.vocabSize);
    // A failed preparation is not remembered: the next request tries again.
    grammars.catch(() => perModel.delete(model));
    perModel.set(model, grammars);
  }
  return grammars;
}

/** A fresh mask for one sequence of `model` following `spec`. */
export async function grammarMask(model: LanguageModel, spec: GrammarSpec): Promise<GrammarMask> {
  return GrammarMask.create(await modelGrammars(model), spec);
}
