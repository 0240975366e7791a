/** How and where a report's data were produced; shown in the report's run metadata. */
export interface ReportMeta {
  /** accumaudit version that ran the audit or check. */
  harnessVersion: string;
  /** When the run happened (ISO 8601). */
  date: string;
  /** Compute backend of the built-in trainers, e.g. cpu, wasm, webgpu. */
  backend: string;
  /** Device of external trainers or the accelerator, e.g. cpu, cuda, "NVIDIA H100". */
  device?: string;
  /** Numeric precision(s) of the run, e.g. fp32 or "fp32, fp16". */
  precision: string;
  /** fast-check seed of an audit. */
  seed?: number;
  /** fast-check runs per trainer of an audit. */
  runs?: number;
  /** The command line that produced the report. */
  command?: string;
}
