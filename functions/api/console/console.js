// The calculations console: the caller's list, a start form, and one calculation's timeline.
// Everything that comes from the API is put on the page as text (textContent, attributes),
// never parsed as HTML: error messages and names are the caller's data, not markup.
"use strict";

(() => {
  const KEY_STORAGE = "calculations-console.api-key";
  // The API's own paths sit beside /console: `/Prod/console` on the deployed stage, `/console` locally.
  const BASE = location.pathname.replace(/\/console\/?$/, "");
  const PAGE_SIZE = 20;
  const REFRESH_MS = 2000;
  const DETAIL_ROUTE = /^#\/calculations\/([A-Za-z0-9_-]{1,64})$/;
  const SVG_NS = "http://www.w3.org/2000/svg";
  const LABEL_WIDTH = 170;
  const LANE_HEIGHT = 30;
  const AXIS_HEIGHT = 28;
  const MIN_CHART_WIDTH = 560;
  const TICKS = 5;

  const $ = (id) => document.getElementById(id);
  const list = { cursor: null, nextCursor: null, items: [] };
  let refreshTimer = null;
  let shownId = null;
  let notice = ""; // said once, with the next list: what the last action did

  // ---- building the page with text only ----

  function element(tag, attributes = {}, text) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function svgElement(tag, attributes = {}, text) {
    const node = document.createElementNS(SVG_NS, tag);
    for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, String(value));
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function badge(status) {
    return element("span", { class: `badge badge-${String(status).replace(/[^A-Z_]/g, "")}` }, status);
  }

  function time(value) {
    if (!value) return "—";
    const date = new Date(value);
    return Number.isNaN(date.getTime()) ? String(value) : `${date.toISOString().slice(0, 23).replace("T", " ")} UTC`;
  }

  function duration(ms) {
    if (ms < 1) return "<1 ms";
    if (ms < 1000) return `${Math.round(ms)} ms`;
    if (ms < 60000) return `${(ms / 1000).toFixed(ms < 10000 ? 2 : 1)} s`;
    return `${Math.floor(ms / 60000)} min ${Math.round((ms % 60000) / 1000)} s`;
  }

  // ---- the API ----

  class ApiError extends Error {
    constructor(status, problem) {
      super(describeProblem(status, problem));
      this.status = status;
      this.problem = problem;
    }
  }

  function describeProblem(status, problem) {
    if (!problem || typeof problem !== "object") return `The API answered ${status}.`;
    const lines = [`${problem.title || "Error"} (${problem.status || status}): ${problem.detail || ""}`.trim()];
    for (const field of Array.isArray(problem.errors) ? problem.errors : []) {
      lines.push(`${field.field}: ${field.message}`);
    }
    return lines.join("\n");
  }

  async function call(method, path, { body, headers = {} } = {}) {
    const sent = { "x-api-key": sessionStorage.getItem(KEY_STORAGE) || "", ...headers };
    if (body !== undefined) sent["content-type"] = "application/json";
    const response = await fetch(BASE + path, {
      method,
      headers: sent,
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: "no-cache",
    });
    const text = response.status === 204 ? "" : await response.text();
    let document = null;
    try {
      document = text ? JSON.parse(text) : null;
    } catch {
      document = null;
    }
    if (!response.ok) throw new ApiError(response.status, document);
    return { status: response.status, body: document };
  }

  function showAlert(error) {
    $("alert").textContent = error ? (error instanceof ApiError ? error.message : `The request failed: ${error.message}`) : "";
  }

  // ---- the key ----

  function hasKey() {
    return Boolean(sessionStorage.getItem(KEY_STORAGE));
  }

  function showKeyState() {
    $("key-form").hidden = hasKey();
    $("key-held").hidden = !hasKey();
  }

  $("key-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const key = $("api-key").value.trim();
    if (!key) return;
    sessionStorage.setItem(KEY_STORAGE, key);
    $("api-key").value = "";
    showKeyState();
    route();
    $("main").focus();
  });

  $("forget-key").addEventListener("click", () => {
    sessionStorage.removeItem(KEY_STORAGE);
    showKeyState();
    location.hash = "#/";
    route();
    $("api-key").focus();
  });

  // ---- views ----

  function stopRefreshing() {
    clearTimeout(refreshTimer);
    refreshTimer = null;
  }

  function show(view) {
    for (const id of ["welcome", "list-view", "detail-view"]) $(id).hidden = id !== view;
  }

  function route() {
    stopRefreshing();
    showAlert(null);
    if (!hasKey()) {
      shownId = null;
      show("welcome");
      return;
    }
    const match = DETAIL_ROUTE.exec(location.hash);
    if (match) {
      show("detail-view");
      loadDetail(match[1], shownId !== match[1]);
    } else {
      shownId = null;
      show("list-view");
      loadList();
    }
  }

  window.addEventListener("hashchange", () => {
    route();
    $("main").focus();
  });

  // ---- the list ----

  async function loadList() {
    stopRefreshing();
    const query = new URLSearchParams({ limit: String(PAGE_SIZE) });
    if ($("status-filter").value) query.set("status", $("status-filter").value);
    if (list.cursor) query.set("cursor", list.cursor);
    $("list-status").textContent = "Loading…";
    try {
      const page = (await call("GET", `/calculations?${query}`)).body;
      list.items = page.items;
      list.nextCursor = page.nextCursor || null;
      renderList();
      const running = list.items.some((item) => item.status === "RUNNING");
      $("list-status").textContent = `${notice}${list.items.length} shown${running ? "; refreshing while any runs" : ""}`;
      notice = "";
      if (running && $("list-view").hidden === false) refreshTimer = setTimeout(loadList, REFRESH_MS);
    } catch (error) {
      $("list-status").textContent = "";
      showAlert(error);
    }
  }

  function renderList() {
    const rows = document.createDocumentFragment();
    for (const item of list.items) {
      const row = element("tr");
      const link = element("a", { href: `#/calculations/${encodeURIComponent(item.id)}` }, item.id);
      const id = element("td");
      id.append(link);
      const status = element("td");
      status.append(badge(item.status));
      row.append(id, status, element("td", {}, time(item.startedAt)), element("td", {}, time(item.endedAt)));
      rows.append(row);
    }
    if (!list.items.length) {
      rows.append(element("tr", {}, null));
      rows.lastChild.append(element("td", { colspan: "4" }, "No calculations here yet."));
    }
    $("calculation-rows").replaceChildren(rows);
    $("next-page").disabled = !list.nextCursor;
    $("first-page").disabled = !list.cursor;
  }

  $("status-filter").addEventListener("change", () => {
    list.cursor = null;
    loadList();
  });
  $("refresh").addEventListener("click", loadList);
  $("first-page").addEventListener("click", () => {
    list.cursor = null;
    loadList();
  });
  $("next-page").addEventListener("click", () => {
    list.cursor = list.nextCursor;
    loadList();
  });

  $("start-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    showAlert(null);
    const headers = {};
    const key = $("idempotency-key").value.trim();
    if (key) headers["Idempotency-Key"] = key;
    $("start-status").textContent = "Starting…";
    try {
      const body = { num1: Number($("num1").value), num2: Number($("num2").value) };
      const started = (await call("POST", "/calculations", { body, headers })).body;
      $("start-status").textContent = `Started ${started.id}: ${started.status}`;
      $("idempotency-key").value = "";
      list.cursor = null;
      loadList();
    } catch (error) {
      $("start-status").textContent = "Not started.";
      showAlert(error);
    }
  });

  // ---- one calculation ----

  async function loadDetail(id, fresh) {
    stopRefreshing();
    if (fresh) {
      shownId = id;
      $("detail-id").textContent = id;
      $("facts").replaceChildren();
      $("timeline").replaceChildren(element("p", { class: "hint" }, "Loading…"));
      $("history-rows").replaceChildren();
      $("action-status").textContent = "";
      $("stop").disabled = true; // until the calculation is read and found running
      selectSegment(null);
    }
    $("timeline").setAttribute("aria-busy", "true");
    const [calculation, history] = await Promise.allSettled([
      call("GET", `/calculations/${encodeURIComponent(id)}`),
      call("GET", `/calculations/${encodeURIComponent(id)}/history`),
    ]);
    if (shownId !== id) return; // another calculation was opened meanwhile
    $("timeline").setAttribute("aria-busy", "false");
    if (calculation.status === "rejected") {
      showAlert(calculation.reason);
      $("timeline").replaceChildren();
      return;
    }
    renderFacts(calculation.value.body);
    // Only a running calculation can be stopped (the API would answer 409).
    $("stop").disabled = calculation.value.body.status !== "RUNNING";
    if (history.status === "rejected") {
      showAlert(history.reason);
    } else {
      renderTimeline(history.value.body, calculation.value.body);
      renderRawHistory(history.value.body.operations);
    }
    if (calculation.value.body.status === "RUNNING") {
      refreshTimer = setTimeout(() => loadDetail(id, false), REFRESH_MS);
    }
  }

  function renderFacts(calculation) {
    const facts = document.createDocumentFragment();
    const add = (term, value) => {
      const description = element("dd");
      if (value instanceof Node) description.append(value);
      else description.textContent = value;
      facts.append(element("dt", {}, term), description);
      return description;
    };
    add("Status", badge(calculation.status));
    add("Input", calculation.input ? JSON.stringify(calculation.input) : "—");
    add("Started", time(calculation.startedAt));
    add("Ended", time(calculation.endedAt));
    if (calculation.result) add("Result", JSON.stringify(calculation.result));
    for (const failed of calculation.failedOperations || []) {
      add(`${failed.operation} failed`, failed.message).classList.add("error-text");
    }
    if (calculation.partialResults) add("Other results", JSON.stringify(calculation.partialResults));
    if (calculation.error) {
      add("Error", [calculation.error.type, calculation.error.message].filter(Boolean).join(": ")).classList.add(
        "error-text",
      );
    }
    $("facts").replaceChildren(facts);
  }

  async function act(kind) {
    const id = shownId;
    const question = kind === "stop" ? `Stop calculation ${id}?` : `Delete calculation ${id}? This cannot be undone.`;
    if (!window.confirm(question)) return;
    showAlert(null);
    $("action-status").textContent = kind === "stop" ? "Stopping…" : "Deleting…";
    try {
      if (kind === "stop") {
        $("stop").disabled = true; // one stop at a time; the reload says whether it can be sent again
        await call("POST", `/calculations/${encodeURIComponent(id)}/stop`);
        $("action-status").textContent = "Stopped.";
        loadDetail(id, false);
      } else {
        await call("DELETE", `/calculations/${encodeURIComponent(id)}`);
        notice = `Deleted ${id}. `;
        location.hash = "#/";
      }
    } catch (error) {
      $("action-status").textContent = kind === "stop" ? "Not stopped." : "Not deleted.";
      showAlert(error);
      if (kind === "stop") loadDetail(id, false);
    }
  }

  $("stop").addEventListener("click", () => act("stop"));
  $("delete").addEventListener("click", () => act("delete"));

  // ---- the timeline ----

  const OUTCOME_WORDS = {
    SUCCEEDED: "succeeded",
    FAILED: "failed",
    STARTED: "running",
    PENDING: "waiting to retry",
    CANCELLED: "cancelled",
    TIMED_OUT: "timed out",
    STOPPED: "stopped",
  };

  function millis(value) {
    const parsed = value ? Date.parse(value) : NaN;
    return Number.isNaN(parsed) ? null : parsed;
  }

  // Lanes from the operations: a block for each parallel context with a lane per branch under it,
  // and a lane for every other top-level operation. A lane's segments are its steps' attempts
  // and its waits, with the retry waits between attempts.
  function lanesOf(operations, now) {
    const byId = new Map(operations.map((operation) => [operation.id, operation]));
    const children = new Map();
    for (const operation of operations) {
      const parent = operation.parentId && byId.has(operation.parentId) ? operation.parentId : null;
      if (!children.has(parent)) children.set(parent, []);
      children.get(parent).push(operation);
    }
    const lanes = [];
    for (const operation of children.get(null) || []) {
      if (operation.type === "CONTEXT" && operation.subType === "Parallel") {
        const branches = children.get(operation.id) || [];
        lanes.push({
          label: `${operation.name || operation.id} (parallel)`, depth: 0, block: operation, span: 1 + branches.length, segments: [],
        });
        for (const branch of branches) {
          lanes.push({ label: branch.name || branch.id, depth: 1, branch, segments: segmentsOf(branch, children, now) });
        }
      } else {
        lanes.push({ label: operation.name || operation.type, depth: 0, segments: segmentsOf(operation, children, now) });
      }
    }
    return lanes;
  }

  function segmentsOf(root, children, now) {
    const segments = [];
    const visit = (operation) => {
      if (operation.type === "STEP") segments.push(...stepSegments(operation, now));
      else if (operation.type === "WAIT") segments.push(waitSegment(operation, now));
      for (const child of children.get(operation.id) || []) visit(child);
    };
    visit(root);
    if (!segments.length) {
      const start = millis(root.startedAt);
      if (start !== null) {
        segments.push({
          kind: "operation", name: root.name || root.type, status: root.status, start,
          end: millis(root.endedAt) ?? now, error: root.error,
        });
      }
    }
    return segments;
  }

  function stepSegments(step, now) {
    const name = step.name || step.id;
    const attempts = step.attemptDetails || [];
    if (!attempts.length) {
      const start = millis(step.startedAt);
      if (start === null) return [];
      return [{ kind: "attempt", name, number: 1, status: step.status, start, end: millis(step.endedAt) ?? now, error: step.error }];
    }
    const segments = [];
    attempts.forEach((attempt, index) => {
      const start = millis(attempt.startedAt) ?? millis(step.startedAt);
      if (start === null) return;
      const end = millis(attempt.endedAt) ?? now;
      segments.push({ kind: "attempt", name, number: attempt.number, status: attempt.status, start, end, error: attempt.error });
      if (attempt.retryDelaySeconds) {
        const next = attempts[index + 1];
        const resumed = next ? millis(next.startedAt) : null;
        segments.push({
          kind: "wait", name, number: attempt.number, status: "PENDING", start: end,
          end: resumed ?? Math.min(end + attempt.retryDelaySeconds * 1000, Math.max(now, end)),
          planned: attempt.retryDelaySeconds,
        });
      }
    });
    return segments;
  }

  function waitSegment(wait, now) {
    const start = millis(wait.startedAt) ?? now;
    return { kind: "wait", name: wait.name || wait.id, status: wait.status, start, end: millis(wait.endedAt) ?? now };
  }

  function describe(segment) {
    const length = duration(segment.end - segment.start);
    if (segment.kind === "wait") {
      const planned = segment.planned ? ` before attempt ${segment.number + 1} (retry after ${segment.planned} s)` : "";
      return `${segment.name}: wait of ${length}${planned}`;
    }
    const which = segment.kind === "attempt" ? ` attempt ${segment.number}` : "";
    const error = segment.error ? `, ${[segment.error.type, segment.error.message].filter(Boolean).join(": ")}` : "";
    return `${segment.name}${which}: ${OUTCOME_WORDS[segment.status] || segment.status} after ${length}${error}`;
  }

  function renderTimeline(history, calculation) {
    performance.mark("console:timeline-start");
    const now = Date.now();
    const focused = document.activeElement?.dataset?.segment;
    const lanes = lanesOf(history.operations || [], history.ended ? millis(calculation.endedAt) ?? now : now);
    if (history.ended) {
      // The execution's end (a stop, a time-out) ended whatever was still under way in it.
      const end = ["STOPPED", "TIMED_OUT"].includes(calculation.status) ? calculation.status : "CANCELLED";
      for (const segment of lanes.flatMap((lane) => lane.segments)) {
        if (segment.status === "STARTED" || segment.status === "PENDING") segment.status = end;
      }
    }
    const times = lanes.flatMap((lane) => [
      ...lane.segments.flatMap((segment) => [segment.start, segment.end]),
      ...(lane.block ? [millis(lane.block.startedAt), millis(lane.block.endedAt)] : []),
    ]).filter((value) => value !== null);
    const container = $("timeline");
    if (!lanes.length || !times.length) {
      container.replaceChildren(element("p", { class: "hint" }, "No operations yet."));
      performance.measure("console:timeline", "console:timeline-start");
      return;
    }
    const first = Math.min(...times);
    const last = Math.max(...times, first + 1);
    const chartWidth = Math.max(MIN_CHART_WIDTH, container.clientWidth - LABEL_WIDTH - 90);
    const x = (t) => LABEL_WIDTH + ((t - first) / (last - first)) * chartWidth;
    const height = AXIS_HEIGHT + lanes.length * LANE_HEIGHT + 8;
    const width = LABEL_WIDTH + chartWidth + 90;

    const chart = svgElement("svg", {
      width, height, viewBox: `0 0 ${width} ${height}`, role: "group", "aria-labelledby": "timeline-title",
    });
    // Layers, bottom to top: lane stripes, parallel blocks, then the axis, labels and bars.
    const [stripes, blocks, marks] = [svgElement("g"), svgElement("g"), svgElement("g")];
    marks.append(...axis(first, last, x, height));
    lanes.forEach((lane, index) => {
      const top = AXIS_HEIGHT + index * LANE_HEIGHT;
      if (index % 2 === 0) {
        stripes.append(svgElement("rect", { class: "lane-row", x: 0, y: top, width, height: LANE_HEIGHT }));
      }
      marks.append(svgElement("text", {
        class: `lane-label${lane.depth ? " child" : ""}`, x: 8 + lane.depth * 16, y: top + 19,
      }, lane.label));
      if (lane.block) {
        const start = millis(lane.block.startedAt) ?? first;
        const end = millis(lane.block.endedAt) ?? last;
        blocks.append(svgElement("rect", {
          class: "block", x: x(start), y: top + 3, rx: 3, height: lane.span * LANE_HEIGHT - 6,
          width: Math.max(2, x(end) - x(start)),
        }));
        marks.append(svgElement("text", { class: "duration", x: x(end) + 6, y: top + 19 }, duration(end - start)));
        return;
      }
      if (lane.branch && millis(lane.branch.startedAt) !== null) {
        // The branch's own span, under its attempts: a branch that started late or ran long shows.
        const start = millis(lane.branch.startedAt);
        const end = millis(lane.branch.endedAt) ?? last;
        blocks.append(svgElement("rect", {
          class: "branch-span", x: x(start), y: top + 9, height: 12, width: Math.max(2, x(end) - x(start)),
        }));
      }
      for (const segment of lane.segments) drawSegment(marks, segment, x, top, lane.label);
    });
    chart.append(stripes, blocks, marks);
    container.replaceChildren(chart);
    // Keep the keyboard where it was when a running calculation is redrawn.
    if (focused) container.querySelector(`[data-segment="${CSS.escape(focused)}"]`)?.focus();
    performance.measure("console:timeline", "console:timeline-start");
  }

  function axis(first, last, x, height) {
    const parts = [];
    for (let tick = 0; tick <= TICKS; tick += 1) {
      const t = first + ((last - first) * tick) / TICKS;
      parts.push(svgElement("line", { class: "axis", x1: x(t), x2: x(t), y1: AXIS_HEIGHT - 6, y2: height }));
      parts.push(svgElement("text", {
        class: "tick", x: x(t), y: 16, "text-anchor": tick === 0 ? "start" : tick === TICKS ? "end" : "middle",
      }, tick === 0 ? "0" : `+${duration(t - first)}`));
    }
    return parts;
  }

  function drawSegment(chart, segment, x, top, laneLabel) {
    const key = `${laneLabel}|${segment.kind}|${segment.name}|${segment.number ?? ""}|${segment.start}`;
    const left = x(segment.start);
    const span = Math.max(3, x(segment.end) - left);
    const label = describe(segment);
    const common = { tabindex: 0, role: "button", "aria-label": label, "data-segment": key };
    let shape;
    if (segment.kind === "wait") {
      chart.append(svgElement("line", { class: "wait", x1: left, x2: left + span, y1: top + 15, y2: top + 15 }));
      shape = svgElement("rect", { ...common, class: "segment wait-hit", x: left, y: top + 7, width: span, height: 16 });
    } else {
      shape = svgElement("rect", {
        ...common, class: `segment outcome-${segment.status}`, x: left, y: top + 6, width: span, height: 18, rx: 2,
      });
    }
    shape.addEventListener("click", () => selectSegment(shape, segment));
    shape.addEventListener("focus", () => selectSegment(shape, segment));
    shape.addEventListener("keydown", (event) => {
      if (event.key === "Enter" || event.key === " ") {
        event.preventDefault();
        selectSegment(shape, segment);
      }
    });
    chart.append(shape);
    const text = segment.kind === "wait" ? `wait ${duration(segment.end - segment.start)}` : duration(segment.end - segment.start);
    chart.append(svgElement("text", {
      class: `duration${segment.status === "FAILED" ? " failed" : ""}`,
      x: left + span + 4, y: top + (segment.kind === "wait" ? 11 : 19), "aria-hidden": "true",
    }, segment.status === "FAILED" ? `${text} ✕` : text));
    return shape;
  }

  function selectSegment(shape, segment) {
    for (const selected of document.querySelectorAll(".segment.selected")) selected.classList.remove("selected");
    const details = $("segment-details");
    if (!shape) {
      details.replaceChildren(element("dt", {}, "Selected"), element("dd", {}, "nothing yet"));
      return;
    }
    shape.classList.add("selected");
    const rows = [
      ["Operation", segment.name],
      segment.kind === "wait"
        ? ["Wait", segment.planned ? "between attempts" : "a durable wait"]
        : ["Attempt", segment.number ?? "—"],
      ["Outcome", OUTCOME_WORDS[segment.status] || segment.status],
      ["Started", time(new Date(segment.start).toISOString())],
      ["Ended", time(new Date(segment.end).toISOString())],
      ["Duration", duration(segment.end - segment.start)],
    ];
    if (segment.planned) rows.push(["Retry delay", `${segment.planned} s`]);
    if (segment.error) rows.push(["Error", [segment.error.type, segment.error.message].filter(Boolean).join(": ")]);
    details.replaceChildren(...rows.flatMap(([term, value]) => [element("dt", {}, term), element("dd", {}, value)]));
  }

  function renderLegend() {
    const entries = [["ok", "succeeded"], ["failed", "failed (✕)"], ["running", "running"], ["wait", "wait / retry delay"], ["stopped", "stopped or cancelled"]];
    $("legend").replaceChildren(...entries.map(([kind, words]) => {
      const entry = element("span");
      entry.append(element("span", { class: `swatch swatch-${kind}`, "aria-hidden": "true" }), words);
      return entry;
    }));
  }

  function renderRawHistory(operations) {
    const rows = document.createDocumentFragment();
    for (const operation of operations) {
      const row = element("tr");
      const error = operation.error ? [operation.error.type, operation.error.message].filter(Boolean).join(": ") : "";
      for (const value of [
        operation.id, operation.name || "", operation.subType ? `${operation.type} / ${operation.subType}` : operation.type,
        operation.parentId || "", operation.status, operation.attempts ?? "", time(operation.startedAt), time(operation.endedAt), error,
      ]) {
        row.append(element("td", {}, value));
      }
      rows.append(row);
    }
    $("history-rows").replaceChildren(rows);
  }

  renderLegend();
  showKeyState();
  route();
})();
