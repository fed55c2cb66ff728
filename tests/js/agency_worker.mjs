// An agency's worker on the unmodified npm package camunda-external-task-client-js.
//
// It does what an agency's own system would: subscribe to the agency's topics on
// /engine-rest, and for every task fetched apply the first rule of the plan whose `when`
// matches the task's variables. A rule may give the task back once (`unlockFirst`), report
// a failure once with retries (`failFirst`), extend its lock (`extendLock`, ms), then raise a
// BPMN error (`bpmnError`) or complete with typed variables (`complete`).
//
//   LIENTHONG_WORKER_TOKEN=lt_... node agency_worker.mjs --base-url http://127.0.0.1:8080/engine-rest \
//       --plan plan.json [--worker-id ID] [--auth bearer|basic] [--completions N] [--timeout-ms MS]
//
// The token comes from the environment, not argv, so it does not show in process lists.
// Plan: {"topic": [{"when": {...}, "unlockFirst": true, "failFirst": {...}, "extendLock": ms,
//                   "bpmnError": {"code", "message", "variables"}, "complete": {...}}, ...]}.
// In `complete` and `bpmnError.variables`, {"$date": "now" | ISO text} becomes a Date value.
//
// Output: one JSON object per line on stdout ({"event": "completed" | "failed" | "unlocked" |
// "extended" | "bpmnError" | "error", ...}), then {"event": "summary", ...}. Exit status 0
// after N completions or SIGTERM/SIGINT, 2 on timeout, 1 on a bad invocation.

import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";

import { BasicAuthInterceptor, Client, Variables } from "camunda-external-task-client-js";

const { values: args } = parseArgs({
  options: {
    "base-url": { type: "string" },
    plan: { type: "string" },
    "worker-id": { type: "string", default: `js-worker-${process.pid}` },
    auth: { type: "string", default: "bearer" },
    completions: { type: "string" },
    "timeout-ms": { type: "string", default: "60000" },
    "async-response-timeout-ms": { type: "string", default: "2000" },
  },
});

const token = process.env.LIENTHONG_WORKER_TOKEN;
if (!args["base-url"] || !args.plan || !token) {
  console.error("usage: LIENTHONG_WORKER_TOKEN=... node agency_worker.mjs --base-url URL --plan FILE");
  process.exit(1);
}

const plan = JSON.parse(readFileSync(args.plan, "utf-8"));
const wanted = args.completions === undefined ? Infinity : Number(args.completions);
const counts = { completed: 0, failed: 0, unlocked: 0, extended: 0, bpmnError: 0, error: 0 };
// Tasks this worker already gave back or failed once: the second time round they are done.
const unlockedOnce = new Set();
const failedOnce = new Set();

function emit(event, task, extra = {}) {
  if (task) {
    counts[event] = (counts[event] ?? 0) + 1;
  }
  const line = { event, worker: args["worker-id"], ...extra };
  if (task) {
    Object.assign(line, {
      taskId: task.id,
      topic: task.topicName,
      businessKey: task.businessKey,
      processInstanceId: task.processInstanceId,
      retries: task.retries,
    });
  }
  process.stdout.write(`${JSON.stringify(line)}\n`);
}

// Camunda's Basic scheme carries the token as the password; Bearer is the usual choice.
function bearer(config) {
  return { ...config, headers: { ...config.headers, Authorization: `Bearer ${token}` } };
}
const interceptors =
  args.auth === "basic" ? new BasicAuthInterceptor({ username: args["worker-id"], password: token }) : bearer;

const client = new Client({
  baseUrl: args["base-url"],
  workerId: args["worker-id"],
  interceptors,
  maxTasks: 5,
  interval: 50,
  lockDuration: 30000,
  asyncResponseTimeout: Number(args["async-response-timeout-ms"]),
  autoPoll: false,
});

function typed(values = {}) {
  const variables = new Variables();
  for (const [name, value] of Object.entries(values)) {
    if (value && typeof value === "object" && "$date" in value) {
      variables.set(name, value.$date === "now" ? new Date() : new Date(value.$date));
    } else {
      variables.set(name, value); // typed by the client: string, integer, boolean, json...
    }
  }
  return variables;
}

function matches(rule, variables) {
  return Object.entries(rule.when ?? {}).every(([name, value]) => variables.get(name) === value);
}

async function handle({ task, taskService }) {
  const rule = (plan[task.topicName] ?? []).find((r) => matches(r, task.variables));
  try {
    if (!rule) {
      throw new Error(`no rule of the plan matches task ${task.id} (${task.topicName})`);
    }
    if (rule.unlockFirst && !unlockedOnce.has(task.id)) {
      unlockedOnce.add(task.id); // not ready yet: give it back for the next poll
      await taskService.unlock(task);
      emit("unlocked", task);
      return;
    }
    if (rule.failFirst && !failedOnce.has(task.id)) {
      failedOnce.add(task.id);
      const { errorMessage, errorDetails, retries, retryTimeout } = rule.failFirst;
      // As Camunda's examples do: the worker counts retries down from what the task carries.
      const left = task.retries == null ? retries : task.retries - 1;
      await taskService.handleFailure(task, { errorMessage, errorDetails, retries: left, retryTimeout });
      emit("failed", task, { retriesLeft: left });
      return;
    }
    if (rule.extendLock) {
      await taskService.extendLock(task, rule.extendLock);
      emit("extended", task, { newDuration: rule.extendLock });
    }
    if (rule.bpmnError) {
      const { code, message, variables } = rule.bpmnError;
      await taskService.handleBpmnError(task, code, message, typed(variables));
      emit("bpmnError", task, { code });
      return;
    }
    await taskService.complete(task, typed(rule.complete));
    emit("completed", task);
    if (counts.completed >= wanted) {
      finish(0);
    }
  } catch (error) {
    emit("error", task, { message: String(error?.message ?? error) });
  }
}

function finish(status) {
  client.stop();
  emit("summary", null, { counts, status });
  process.exit(status);
}

client.on("poll:error", (error) => console.error(`poll error: ${error?.message ?? error}`));
for (const topic of Object.keys(plan)) {
  client.subscribe(topic, handle);
}
process.on("SIGTERM", () => finish(0));
process.on("SIGINT", () => finish(0));
setTimeout(() => {
  console.error(`timed out after ${args["timeout-ms"]} ms`);
  finish(2);
}, Number(args["timeout-ms"]));
client.start();
