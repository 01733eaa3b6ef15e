import type { ControlOptions } from "../../../control/control.ts";
import { startTestControl, type TestControl } from "../../helpers/control.ts";

/** startTestControl with extra control options (external broker, TLS, master key) and its log. */
export function startControlWith(extra: Partial<ControlOptions>, fetchOptions: Record<string, unknown> = {}): Promise<TestControl> {
  return startTestControl({ extra, fetchOptions });
}
