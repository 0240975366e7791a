export {
  locatePython,
  packageRoot,
  probePackageFolder,
  pythonWorkerCommand,
} from "./interpreter.js";
export type { Hello } from "./protocol.js";
export { HelloSchema, PROTOCOL_VERSION, ResponseSchema } from "./protocol.js";
export type { ProtocolTrainerOptions } from "./protocol-trainer.js";
export { createProtocolTrainer, DEFAULT_RUN_TIMEOUT_MS } from "./protocol-trainer.js";
export type { PythonTrainerOptions } from "./python-trainer.js";
export {
  createPythonTrainer,
  disposePythonWorkers,
  PYTHON_TRAINER_NAMES,
  pythonWorker,
  setTrainerOutput,
  startPythonWorker,
} from "./python-trainer.js";
export type { PackedArray } from "./wire-trace.js";
export {
  decodeWireTrace,
  PackedArraySchema,
  packFloat64,
  unpackArray,
  WireFloat,
  WireTraceSchema,
} from "./wire-trace.js";
export type { OutputSink, RunRequest } from "./worker-client.js";
export { HANDSHAKE_TIMEOUT_MS, NotAWorkerError, WorkerClient } from "./worker-client.js";
export type { WorkerCommand } from "./worker-process.js";
export { WorkerBrokenError, WorkerExitError, WorkerProcess } from "./worker-process.js";
