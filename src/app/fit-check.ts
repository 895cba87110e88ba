/** The fit check: does the model, served with the argv the render produced, fit the app's GPUs? Pure. */
import type { LoadedApp } from "../config/load.js";
import type { Diagnostic } from "../errors.js";
import { checkFit, describeFit, gpuLabel, servingOptions, suggestGpus, type FitResult } from "../fit/fit.js";
import { modelShape } from "../fit/model.js";
import type { SourceReport } from "../models/resolve.js";
import { sourceUri } from "../models/source.js";
import { gpuRequest } from "../render/resources.js";

export interface FitReport {
  gpu: string;
  summary: string;
  result: FitResult;
}

/** Check the fit from the source's facts and the rendered serve argv; diagnostics point at resources.gpu. */
export function fitCheck(
  app: LoadedApp,
  report: SourceReport,
  serveArgs: readonly string[],
): { fit?: FitReport; diagnostics: Diagnostic[] } {
  const diagnostics: Diagnostic[] = [];
  const add = (severity: Diagnostic["severity"], message: string, hint?: string) =>
    diagnostics.push({
      file: app.file,
      ...app.locate(["resources", "gpu"]),
      path: "resources.gpu",
      severity,
      message,
      hint,
    });
  const { config, weightBytes } = report.facts ?? {};
  const gpu = gpuRequest(app.config);
  if (!config || weightBytes === undefined || gpu.count === 0) return { diagnostics };
  if (!gpu.type) {
    add(
      "note",
      "resources.gpu names no GPU type, so vllmapp cannot check that the model fits",
      'write "TYPE:COUNT", e.g. "L4:1"',
    );
    return { diagnostics };
  }
  const shape = modelShape(config);
  if ("problem" in shape) {
    add("note", `fit not checked: ${shape.problem}`);
    return { diagnostics };
  }
  const serving = servingOptions(serveArgs);
  const choice = { type: gpu.type, count: gpu.count, partition: gpu.partition };
  const result = checkFit(shape, weightBytes, choice, serving);
  const suggestion = result.fits && result.contextFits ? {} : suggestGpus(shape, weightBytes, serving, gpu.type);
  const m = describeFit(sourceUri(report.source), shape, result, choice, serving, suggestion);
  if (m.error) add("error", m.error.message, m.error.hint);
  if (m.warning) add("warning", m.warning.message, m.warning.hint);
  return { fit: { gpu: gpuLabel(choice), summary: m.summary, result }, diagnostics };
}
