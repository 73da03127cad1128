// A client of the Durable Calculations API, typed from openapi.yaml (schema.d.ts) and calling it
// with openapi-fetch: start, wait, poll, read, page, follow, stop, delete, and a refused field.
// Run against an API: CALCULATIONS_API_URL and CALCULATIONS_API_KEY in the environment.
import createClient from "openapi-fetch";
import type { components, paths } from "./schema.js";

type Calculation = components["schemas"]["Calculation"];

function setting(name: string): string {
  const value = process.env[name];
  if (value === undefined || value === "") {
    throw new Error(`${name} is not set`);
  }
  return value;
}

function check(condition: boolean, message: string): void {
  if (!condition) {
    throw new Error(message);
  }
}

const client = createClient<paths>({
  baseUrl: setting("CALCULATIONS_API_URL"),
  headers: { "x-api-key": setting("CALCULATIONS_API_KEY") },
});

async function start(num1: number, num2: number, wait: number): Promise<Calculation> {
  const { data, error, response } = await client.POST("/calculations", {
    body: { num1, num2 },
    params: { header: { prefer: `wait=${wait}` } },
  });
  if (error) {
    throw new Error(`start refused: ${response.status} ${error.title}`);
  }
  return data;
}

async function untilEnded(id: string): Promise<Calculation> {
  for (let attempt = 0; attempt < 600; attempt++) {
    const { data, error } = await client.GET("/calculations/{id}", { params: { path: { id } } });
    if (error) {
      throw new Error(`status refused: ${error.status} ${error.title}`);
    }
    if (data.status !== "RUNNING") {
      return data;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${id} still running`);
}

async function main(): Promise<void> {
  // Start and wait for the answer: ten and five, every operation succeeds.
  const waited = await start(10, 5, 10);
  const ended = waited.status === "RUNNING" ? await untilEnded(waited.id) : waited;
  check(ended.status === "SUCCEEDED", `expected SUCCEEDED, got ${ended.status}`);
  if (ended.result === undefined) {
    throw new Error("a succeeded calculation has its result");
  }
  const sum: number = ended.result.Add + ended.result.Multiply;
  check(sum === 65, `Add + Multiply is ${sum}`);
  check(ended.input?.num1 === 10 && ended.input.num2 === 5, "the input is the two numbers");

  // Start without waiting, poll, then read the result document.
  const started = await start(10, 0, 0);
  await untilEnded(started.id);
  const { data: document, error: notRead } = await client.GET("/calculations/{id}/result", {
    params: { path: { id: started.id } },
  });
  if (notRead) {
    throw new Error(`result refused: ${notRead.status} ${notRead.title}`);
  }
  if ("status" in document) {
    throw new Error(`${document.id} is still ${document.status}`);
  }
  check(document.error_details === "One or more operations failed", "Division by zero fails");
  check(document.errors?.Division === "division by zero", "the failure says why");
  if (document.Add === undefined || document.Multiply === undefined) {
    throw new Error("Add and Multiply succeeded");
  }
  check(document.Add + document.Multiply === 10, "10 + 0 and 10 * 0");
  const failed = await untilEnded(started.id);
  check(failed.partialResults?.Subtract === 10, "the partial results hold Subtract");
  check(failed.failedOperations?.[0]?.operation === "Division", "Division is the failed operation");

  // Page through the caller's calculations, newest first, until the last page.
  const seen: string[] = [];
  let cursor: string | undefined;
  do {
    const { data: page, error } = await client.GET("/calculations", {
      params: { query: cursor === undefined ? { limit: 50 } : { limit: 50, cursor } },
    });
    if (error) {
      throw new Error(`list refused: ${error.status} ${error.title}`);
    }
    seen.push(...page.items.map((item) => item.id));
    cursor = page.nextCursor;
  } while (cursor !== undefined);
  check(seen.includes(ended.id) && seen.includes(started.id), "both calculations are listed");

  // Each operation's progress.
  const { data: history, error: noHistory } = await client.GET("/calculations/{id}/history", {
    params: { path: { id: ended.id } },
  });
  if (noHistory) {
    throw new Error(`history refused: ${noHistory.status} ${noHistory.title}`);
  }
  const steps = history.operations.filter((operation) => operation.type === "STEP");
  check(history.ended, "the history has ended");
  check(
    steps.every((step) => step.status === "SUCCEEDED" && (step.attempts ?? 0) >= 1),
    "every step succeeded",
  );

  // Stopping an ended calculation is a conflict, read through the problem's type.
  const { error: notStopped, response: stopAnswer } = await client.POST("/calculations/{id}/stop", {
    params: { path: { id: ended.id } },
  });
  check(stopAnswer.status === 409 && notStopped?.title === "Conflict", "an ended calculation is not stopped");

  // Delete it: 204, and it is then unknown.
  const { response: deleted } = await client.DELETE("/calculations/{id}", {
    params: { path: { id: ended.id } },
  });
  check(deleted.status === 204, `delete answered ${deleted.status}`);
  const { error: gone } = await client.GET("/calculations/{id}", { params: { path: { id: ended.id } } });
  check(gone?.status === 404, "a deleted calculation is unknown");

  // A refused field: the 422 names it.
  const { error: refused } = await client.POST("/calculations", {
    body: {},
    params: { header: { "idempotency-key": "not a key!" } },
  });
  if (refused === undefined || !("errors" in refused)) {
    throw new Error("a bad Idempotency-Key is refused with a 422");
  }
  const [first] = refused.errors;
  check(first?.field === "Idempotency-Key", `the 422 names ${first?.field}`);

  console.log(`flow passed: ${ended.id} ${started.id}, ${seen.length} listed`);
}

await main();
