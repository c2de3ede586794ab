import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import type { Card, CardOption } from '../core/messages';
import { CATEGORY_LABELS, METHOD_LABELS } from '../domain/glossary';

const OptionsSchema = z.union([z.array(z.object({ id: z.string(), label: z.string() })), z.string().regex(/^\$\w+$/)]);

const CardDefinitionSchema = z.object({
  template: z.string().regex(/^[a-z0-9-]+$/),
  title: z.string(),
  body: z.string().default(''),
  fields: z.array(z.object({ label: z.string(), value: z.string(), optional: z.boolean().optional() })).default([]),
  inputs: z
    .array(
      z.object({
        key: z.string(),
        label: z.string(),
        multi: z.boolean().default(false),
        options: OptionsSchema,
        selected: z.string().optional(),
      }),
    )
    .default([]),
  actions: z.array(z.object({ action: z.string().regex(/^[a-z0-9_]+$/), label: z.string() })).default([]),
});

export type CardDefinition = z.infer<typeof CardDefinitionSchema>;
export type CardVars = Record<string, string | number | null | undefined>;

const toOptions = (labels: Record<string, string>): CardOption[] => Object.entries(labels).map(([id, label]) => ({ id, label }));

/** Option lists a definition may name instead of listing options itself. */
const NAMED_OPTIONS: Record<string, CardOption[]> = {
  $methods: toOptions(METHOD_LABELS),
  $categories: toOptions(CATEGORY_LABELS),
  $issueKinds: toOptions({ common: '普遍性', individual: '个别性', demand: '合理诉求', warning: '苗头性' }),
};

export interface CardCatalog {
  templates(): string[];
  render(template: string, cardId: string, vars: CardVars): Card;
}

/** Loads and checks every bot-cards/*.json once, at start-up; a bad file stops the program. */
export function loadCardCatalog(directory: string): CardCatalog {
  const definitions = new Map<string, CardDefinition>();
  for (const file of fs.readdirSync(directory).filter((f) => f.endsWith('.json'))) {
    const definition = parseDefinition(path.join(directory, file));
    if (`${definition.template}.json` !== file) throw new Error(`bot-cards/${file}: template must be "${file.replace(/\.json$/, '')}"`);
    definitions.set(definition.template, definition);
  }
  return {
    templates: () => [...definitions.keys()],
    render(template, cardId, vars) {
      const definition = definitions.get(template);
      if (!definition) throw new Error(`unknown card template "${template}"`);
      return renderDefinition(definition, cardId, vars);
    },
  };
}

function parseDefinition(file: string): CardDefinition {
  const result = CardDefinitionSchema.safeParse(JSON.parse(fs.readFileSync(file, 'utf8')));
  if (!result.success) {
    const issue = result.error.issues[0];
    throw new Error(`${path.basename(file)}: ${issue.path.join('.')}: ${issue.message}`);
  }
  for (const input of result.data.inputs) {
    if (typeof input.options === 'string' && !NAMED_OPTIONS[input.options]) {
      throw new Error(`${path.basename(file)}: unknown option list ${input.options}`);
    }
  }
  return result.data;
}

function fill(text: string, vars: CardVars): string {
  return text.replace(/\$\{(\w+)\}/g, (_, name: string) => {
    const value = vars[name];
    return value === null || value === undefined ? '' : String(value);
  });
}

function renderDefinition(definition: CardDefinition, cardId: string, vars: CardVars): Card {
  return {
    cardId,
    template: definition.template,
    title: fill(definition.title, vars),
    body: fill(definition.body, vars),
    fields: definition.fields
      .map((field) => ({ label: field.label, value: fill(field.value, vars), optional: field.optional }))
      .filter((field) => !(field.optional && field.value.trim() === ''))
      .map(({ label, value }) => ({ label, value })),
    inputs: definition.inputs.map((input) => ({
      key: input.key,
      label: input.label,
      multi: input.multi,
      options: typeof input.options === 'string' ? NAMED_OPTIONS[input.options] : input.options,
      ...(input.selected ? { selected: fill(input.selected, vars) } : {}),
    })),
    actions: definition.actions,
    state: null,
  };
}
