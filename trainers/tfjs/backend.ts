import * as tf from "@tensorflow/tfjs-core";
import { type Backend, TrainerError } from "../contract/trainer.js";

/** The name TensorFlow.js registers each backend under. */
const REGISTERED_NAME: Record<Backend, string> = {
  cpu: "cpu",
  wasm: "wasm",
  webgpu: "webgpu",
  tensorflow: "tensorflow",
};

const registering = new Map<Backend, Promise<void>>();

/** Imports a module the user may not have installed; the specifier is a variable so tsc does not resolve it. */
async function importOptional(specifier: string): Promise<Record<string, unknown>> {
  return (await import(specifier)) as Record<string, unknown>;
}

function isMissingModule(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  if (code === "ERR_MODULE_NOT_FOUND" || code === "MODULE_NOT_FOUND") return true;
  // Vite (and so vitest) stands in for an optional peer dependency that is not installed with
  // a module that throws this, without an error code.
  return /^Could not resolve "[^"]+" imported by/.test(oneLine(error));
}

function oneLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split("\n")[0] ?? "";
}

async function registerWebgpu(): Promise<void> {
  const scope = globalThis as { navigator?: { gpu?: unknown } };
  if (scope.navigator?.gpu === undefined) {
    let dawn: Record<string, unknown>;
    try {
      dawn = await importOptional("webgpu");
    } catch (error) {
      if (isMissingModule(error))
        throw new TrainerError(
          "backend webgpu: expected the npm package `webgpu` (Dawn for Node), saw it missing; run `npm install webgpu @tensorflow/tfjs-backend-webgpu`",
        );
      throw error;
    }
    const create = dawn.create as ((options: string[]) => unknown) | undefined;
    if (typeof create !== "function")
      throw new TrainerError("backend webgpu: expected `webgpu` to export create(), saw none");
    Object.assign(globalThis, dawn.globals ?? {});
    const gpu = create([]);
    if (scope.navigator === undefined)
      Object.defineProperty(globalThis, "navigator", {
        value: { gpu },
        configurable: true,
        writable: true,
      });
    else Object.defineProperty(scope.navigator, "gpu", { value: gpu, configurable: true });
  }
  try {
    await importOptional("@tensorflow/tfjs-backend-webgpu");
  } catch (error) {
    if (isMissingModule(error))
      throw new TrainerError(
        "backend webgpu: expected @tensorflow/tfjs-backend-webgpu, saw it missing; run `npm install @tensorflow/tfjs-backend-webgpu webgpu`",
      );
    throw error;
  }
}

async function registerTensorflow(): Promise<void> {
  const tried: string[] = [];
  for (const specifier of ["@tensorflow/tfjs-node-gpu", "@tensorflow/tfjs-node"]) {
    try {
      await importOptional(specifier);
      return;
    } catch (error) {
      if (!isMissingModule(error))
        throw new TrainerError(
          `backend tensorflow: loading ${specifier} failed: ${oneLine(error)}`,
        );
      tried.push(specifier);
    }
  }
  throw new TrainerError(
    `backend tensorflow: expected ${tried.join(" or ")} installed, saw neither; run \`npm install @tensorflow/tfjs-node\` (or @tensorflow/tfjs-node-gpu for CUDA)`,
  );
}

async function register(name: Backend): Promise<void> {
  switch (name) {
    case "cpu":
      await import("@tensorflow/tfjs-backend-cpu");
      return;
    case "wasm":
      await import("@tensorflow/tfjs-backend-wasm");
      return;
    case "webgpu":
      return registerWebgpu();
    case "tensorflow":
      return registerTensorflow();
  }
}

/**
 * Makes `name` the active TensorFlow.js backend and waits until it is ready.
 * Idempotent: selecting the active backend again does nothing. Optional backends (webgpu,
 * tensorflow) are imported on first use; a missing package or device gives a one-line
 * {@link TrainerError} naming what to install.
 */
export async function selectBackend(name: Backend): Promise<void> {
  const registered = REGISTERED_NAME[name];
  if (registered === undefined)
    throw new TrainerError(
      `backend: expected one of ${Object.keys(REGISTERED_NAME).join(", ")}, saw ${String(name)}`,
    );
  if (tf.getBackend() === registered) return;
  // Silences the cpu backend's "install tfjs-node" banner; the optional tensorflow backend is the answer to it.
  tf.env().set("PROD", true);
  let pending = registering.get(name);
  if (pending === undefined) {
    pending = register(name);
    registering.set(name, pending);
    pending.catch(() => registering.delete(name));
  }
  await pending;
  let ok: boolean;
  try {
    ok = await tf.setBackend(registered);
  } catch (error) {
    throw new TrainerError(`backend ${name}: initialisation failed: ${oneLine(error)}`);
  }
  if (!ok) {
    const hint =
      name === "webgpu"
        ? " (no WebGPU adapter found: is a Vulkan/Metal/D3D12 driver present?)"
        : "";
    throw new TrainerError(`backend ${name}: expected it to initialise, saw it fail${hint}`);
  }
  await tf.ready();
}

/** The active TensorFlow.js backend's name (cpu, wasm, webgpu or tensorflow). */
export function activeBackend(): string {
  return tf.getBackend();
}
