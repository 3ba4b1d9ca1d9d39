// node --test --test-global-setup: one migrated template database for the whole run.
import { createTemplate, dropRun, dropStaleRuns } from './database.ts';

let template: string | undefined;

export async function globalSetup(): Promise<void> {
  await dropStaleRuns();
  template = await createTemplate();
  process.env.COFFER_TEST_TEMPLATE = template;
}

export async function globalTeardown(): Promise<void> {
  if (template) await dropRun(template);
}
