// The shared integration setup (one dev server, one workflow bundle), plus one fault seed for the
// whole suite: CM_FAULT_SEED when given, else a fresh one, so every file prints the same seed and
// one variable replays the run.
import globalSetup from '../setup/global-setup';
import { faultSeed } from './seed';

export default async function faultsGlobalSetup(): Promise<void> {
  process.env.CM_FAULT_SEED = String(faultSeed());
  await globalSetup();
}
