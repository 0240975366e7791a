/**
 * What to change for each step-semantics mistake: its title, cause and change, and the fix in
 * PyTorch (and TensorFlow.js where the built-in trainers make it). The RunContext helpers named
 * are in trainers/python/API.md, "Step semantics".
 */
import type { MistakeId } from "./mistakes/index.js";

type StepMistake = Extract<
  MistakeId,
  | "step-state-unrecorded"
  | "schedule-per-micro-batch"
  | "schedule-per-epoch"
  | "schedule-per-rank"
  | "schedule-on-skipped-step"
  | "clip-missing"
  | "clip-not-once"
  | "ema-per-micro-batch"
  | "ema-on-skipped-step"
  | "optimizer-count-off"
>;

const AFTER_APPLIED_STEP = `scale = scaler.get_scale()
scaler.step(optimizer)
scaler.update()
optimizer.zero_grad()
if scaler.get_scale() >= scale:      # applied, not skipped
    scheduler.step()                 # once per applied optimizer step
    ema.update_parameters(model)`;

/** The fix of each step-semantics mistake, in each language it has one. */
export const STEP_SNIPPETS: Record<StepMistake, { python?: string; typescript?: string }> = {
  "step-state-unrecorded": {
    python: `optimizer = ctx.make_optimizer()          # a torch.optim optimizer the recorder sees
scheduler = ctx.make_scheduler(optimizer)  # its rate is read at every step
ema = ctx.make_ema()                       # or ctx.watch_average(lambda: my_average_tensors)`,
  },
  "schedule-per-micro-batch": {
    python: `for j, (x, y, ids) in enumerate(window):
    (model.per_sample_loss(x, y, ids).sum() / n).backward()
optimizer.step()
scheduler.step()          # after the step, once per window: not after every micro-batch
optimizer.zero_grad()`,
    typescript: `optimizer.step();
scheduler.step(); // once per window, after the step
optimizer.zeroGrad();`,
  },
  "schedule-per-epoch": {
    python: `optimizer.step()
scheduler.step()          # once per optimizer step: the schedule's T counts steps, not epochs
optimizer.zero_grad()`,
  },
  "schedule-per-rank": {
    python: `scheduler.step()          # every rank steps its own scheduler once per optimizer step
# Accelerate: accelerator.prepare(scheduler) steps it num_processes times per call unless the
# schedule is built for that; build it over steps x num_processes, or do not prepare it`,
  },
  "schedule-on-skipped-step": { python: AFTER_APPLIED_STEP },
  "clip-missing": {
    python: `scaler.unscale_(optimizer)                       # fp16: unscale first
torch.nn.utils.clip_grad_norm_(model.parameters(), C)  # once per window, right before the step
scaler.step(optimizer)`,
  },
  "clip-not-once": {
    python: `for j, (x, y, ids) in enumerate(window):
    (model.per_sample_loss(x, y, ids).sum() / n).backward()   # no clipping in here
scaler.unscale_(optimizer)
torch.nn.utils.clip_grad_norm_(model.parameters(), C)  # once, on the whole window, after the all-reduce
scaler.step(optimizer)`,
  },
  "ema-per-micro-batch": {
    python: `optimizer.step()
optimizer.zero_grad()
ema.update_parameters(model)   # once per applied step, not after every micro-batch`,
    typescript: `optimizer.step();
ema.update(); // once per applied step
optimizer.zeroGrad();`,
  },
  "ema-on-skipped-step": { python: AFTER_APPLIED_STEP },
  "optimizer-count-off": {
    python: `scaler.step(optimizer)    # skips optimizer.step() itself when the step overflows
scaler.update()
# no optimizer.step() outside the scaler, and one per window: the optimizer's count is its bias correction`,
  },
};

/** Each step-semantics mistake in a few words. */
export const STEP_MISTAKE_TITLES: Record<StepMistake, string> = {
  "step-state-unrecorded": "the trace does not show what the step semantics did",
  "schedule-per-micro-batch": "the learning-rate schedule ticked per micro-batch",
  "schedule-per-epoch": "the learning-rate schedule ticked once per epoch",
  "schedule-per-rank": "the learning-rate schedule ticked once per rank",
  "schedule-on-skipped-step": "the learning-rate schedule ticked on a skipped step",
  "clip-missing": "the gradient was not clipped",
  "clip-not-once": "clipping acted on parts of the window, not once on its gradient",
  "ema-per-micro-batch": "the average updated per micro-batch",
  "ema-on-skipped-step": "the average updated on a skipped step",
  "optimizer-count-off": "the optimizer's step count left the applied steps",
};

/** Each step-semantics mistake's cause and change. */
export const STEP_TEXT: Record<StepMistake, { cause: string; change: string }> = {
  "step-state-unrecorded": {
    cause:
      "The scenario asks for a schedule, an average or AdamW, but the trace does not record what the trainer did with it (the rate a step used, the average, the optimizer's count), so the property cannot be judged: accumaudit does not pass what it cannot see.",
    change:
      "Build them with the RunContext (ctx.make_optimizer(), ctx.make_scheduler(optimizer), ctx.make_ema()) or register your own average with ctx.watch_average(); a framework trainer registers the framework's own.",
  },
  "schedule-per-micro-batch": {
    cause:
      "The scheduler stepped after every micro-batch, so the schedule ran K times too fast: a warm-up that ends K times too early, a decay that reaches its end K times too soon.",
    change:
      "Step the scheduler once per applied optimizer step (where the framework has it: Lightning's interval 'step', Accelerate's `if accelerator.sync_gradients:`).",
  },
  "schedule-per-epoch": {
    cause:
      "The scheduler stepped once per epoch, so every step of an epoch used one rate where a schedule over the run's optimizer steps gives each step its own.",
    change:
      "Step the scheduler after every applied optimizer step (a per-step or per-batch scheduler callback of the framework, where it fires at the optimizer step), or build the schedule over epochs if that is what you mean.",
  },
  "schedule-per-rank": {
    cause:
      "The schedule advanced once per rank at every optimizer step, so it ran W times too fast (Accelerate's prepared scheduler steps num_processes times per call).",
    change:
      "Step the schedule once per optimizer step on every rank, or build it over the steps it will really be stepped.",
  },
  "schedule-on-skipped-step": {
    cause:
      "The scheduler stepped on a step the fp16 loss scaler skipped, so every later step used the rate of the step after it.",
    change: "Step the scheduler only after an applied step: when the loss scale did not drop.",
  },
  "clip-missing": {
    cause:
      "The scenario says the trainer clips to a global norm, yet its steps applied the window's gradient unclipped.",
    change:
      "Clip the window's gradient once, right before the step (after unscaling under fp16): torch.nn.utils.clip_grad_norm_(model.parameters(), C); or audit with the norm the loop really clips to.",
  },
  "clip-not-once": {
    cause:
      "Clipping acted on parts of the window (each micro-batch's accumulated gradient, or each rank's before the all-reduce), so samples of one window were scaled by different factors where clipping the window's full-batch gradient once scales them all alike.",
    change:
      "Clip once per window, after the last backward (and after the all-reduce), right before the optimizer's step.",
  },
  "ema-per-micro-batch": {
    cause:
      "The average took an update after every micro-batch, K per optimizer step, so it decayed K times too fast (and mostly averaged identical parameters).",
    change: "Update the average once per applied optimizer step, after the step.",
  },
  "ema-on-skipped-step": {
    cause: "The average updated on a step the fp16 loss scaler skipped, where nothing changed.",
    change: "Update the average only after an applied step: when the loss scale did not drop.",
  },
  "optimizer-count-off": {
    cause:
      "The optimizer's own step count (AdamW's bias correction) differs from the applied steps: it advanced on a skipped step, or more than once per window.",
    change:
      "Call the optimizer's step once per window, through the loss scaler under fp16, so that a skipped step does not count.",
  },
};
