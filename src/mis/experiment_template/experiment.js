/*
 * The study page (mis.experiment): IMI's 2-AFC task on jsPsych 8, built by `build_experiment`.
 *
 * A session: welcome, instructions, practice trials (a round repeats those answered wrongly, at
 * most `practice_attempts` rounds), the main and catch trials of one trial list, then the session
 * file: one row per trial in the 45 columns of IMI's responses_main.csv, with the quality checks
 * computed as mis.experiment.sessions computes them. The file is downloaded and, if the study
 * names a collector, sent to it; a reload after the end shows the end page again instead of a new
 * session (localStorage). Everything is operable with the keyboard alone.
 */
"use strict";

const MIS = (window.MIS = { study: null, assignments: {} });
MIS.setStudy = (study) => {
  MIS.study = study;
};
MIS.setAssignment = (index, trials) => {
  MIS.assignments[index] = trials;
};

const { ParameterType } = jsPsychModule;
const UPPER = 0;
const LOWER = 1;

/* One trial: minimal references left, maximal references right, two queries between them with
 * three confidence buttons each; feedback frame after the answer, then Continue. */
class TwoAfcPlugin {
  static info = {
    name: "2afc-image-confidence-response",
    version: "1.0.0",
    parameters: {
      min_query: { type: ParameterType.IMAGE, default: undefined },
      max_query: { type: ParameterType.IMAGE, default: undefined },
      min_references: { type: ParameterType.IMAGE, array: true, default: undefined },
      max_references: { type: ParameterType.IMAGE, array: true, default: undefined },
      switched: { type: ParameterType.BOOL, default: false },
      header: { type: ParameterType.HTML_STRING, default: "" },
      initial_wait_ms: { type: ParameterType.INT, default: 1500 },
      feedback_delay_ms: { type: ParameterType.INT, default: 350 },
      feedback_ms: { type: ParameterType.INT, default: 1150 },
    },
    data: {
      rt: { type: ParameterType.INT },
      button_pressed: { type: ParameterType.INT },
      switched_queries: { type: ParameterType.BOOL },
      confidence: { type: ParameterType.INT },
      choice: { type: ParameterType.STRING },
      correct: { type: ParameterType.BOOL },
    },
  };

  constructor(jsPsych) {
    this.jsPsych = jsPsych;
  }

  trial(display, trial) {
    const queries = trial.switched ? [trial.max_query, trial.min_query] : [trial.min_query, trial.max_query];
    const grid = (images, label) =>
      `<div class="afc-ref-grid" role="img" aria-label="${label}" ` +
      `style="grid-template-columns: repeat(${Math.ceil(Math.sqrt(images.length))}, auto)">` +
      images.map((src) => `<img class="afc-ref" src="${src}" alt="">`).join("") +
      "</div>";
    const row = (position, label) =>
      `<div class="afc-row" data-row="${position}" role="group" aria-label="${label}">` +
      [1, 2, 3]
        .map(
          (confidence) =>
            `<button type="button" class="afc-choice" data-button="${position * 3 + confidence - 1}" ` +
            `aria-label="${label}, confidence ${confidence}">${confidence}</button>`,
        )
        .join("") +
      "</div>";
    display.innerHTML = `
      <div class="afc">
        <p class="afc-header">${trial.header}</p>
        <p class="afc-question">Which image in the centre matches the <b>Right examples</b> better?</p>
        <div class="afc-grid">
          <section class="afc-side"><h2>Left examples</h2>${grid(trial.min_references, "Left examples")}</section>
          <section class="afc-centre">
            <img class="afc-query" id="afc-query-0" src="${queries[0]}" alt="upper image">
            <div class="afc-choices">
              ${row(UPPER, "upper image")}
              <p class="afc-hint"><span>less sure</span><span>more sure →</span></p>
              ${row(LOWER, "lower image")}
            </div>
            <img class="afc-query" id="afc-query-1" src="${queries[1]}" alt="lower image">
          </section>
          <section class="afc-side"><h2>Right examples</h2>${grid(trial.max_references, "Right examples")}</section>
        </div>
        <p class="afc-status" role="status" aria-live="polite"></p>
        <p class="afc-keys">Keys: <kbd>↑</kbd> / <kbd>↓</kbd> choose the upper or lower image, then
          <kbd>1</kbd> <kbd>2</kbd> <kbd>3</kbd> for how sure you are (3 = very sure).</p>
      </div>`;
    const container = this.jsPsych.getDisplayContainerElement();
    const status = display.querySelector(".afc-status");
    const buttons = [...display.querySelectorAll(".afc-choice")];
    const start = performance.now();
    let state = "waiting";
    let selected = null;
    let response = null;

    const select = (position) => {
      selected = position;
      display.querySelectorAll(".afc-row").forEach((element) => {
        element.classList.toggle("afc-selected", Number(element.dataset.row) === position);
      });
      status.textContent = `${position === UPPER ? "Upper" : "Lower"} image: now press 1, 2 or 3.`;
    };
    const end = () => {
      container.removeEventListener("keydown", onKey);
      display.innerHTML = "";
      this.jsPsych.finishTrial(response);
    };
    const showContinue = () => {
      state = "feedback";
      const next = document.createElement("button");
      next.type = "button";
      next.className = "jspsych-btn afc-continue";
      next.textContent = "Continue (Enter)";
      next.addEventListener("click", end);
      status.after(next);
      next.focus();
    };
    const answer = (button) => {
      if (state !== "open") return;
      state = "answered";
      const position = button < 3 ? UPPER : LOWER;
      const choseMax = (position === UPPER) === trial.switched;
      response = {
        rt: Math.round(performance.now() - start),
        button_pressed: button,
        switched_queries: trial.switched,
        confidence: (button % 3) + 1,
        choice: choseMax ? "b" : "a",
        correct: choseMax,
      };
      buttons.forEach((element) => {
        element.disabled = true;
      });
      const chosen = display.querySelector(`#afc-query-${position}`);
      chosen.classList.add("afc-responded");
      this.jsPsych.pluginAPI.setTimeout(() => {
        chosen.classList.add(response.correct ? "afc-correct" : "afc-incorrect");
        status.innerHTML = response.correct ? '<b class="afc-right">Correct!</b>' : '<b class="afc-wrong">Incorrect!</b>';
        this.jsPsych.pluginAPI.setTimeout(showContinue, trial.feedback_ms);
      }, trial.feedback_delay_ms);
    };
    const onKey = (event) => {
      const key = event.key;
      if (state === "feedback" && (key === "Enter" || key === " ")) {
        event.preventDefault();
        end();
      } else if (state === "open" && (key === "ArrowUp" || key === "ArrowDown")) {
        event.preventDefault();
        select(key === "ArrowUp" ? UPPER : LOWER);
      } else if (state === "open" && ["1", "2", "3"].includes(key)) {
        event.preventDefault();
        if (selected === null) {
          status.textContent = "First choose the upper or lower image with ↑ or ↓.";
        } else {
          answer(selected * 3 + Number(key) - 1);
        }
      }
    };
    buttons.forEach((element) => {
      element.disabled = true;
      element.addEventListener("click", () => answer(Number(element.dataset.button)));
    });
    container.addEventListener("keydown", onKey);
    this.jsPsych.pluginAPI.setTimeout(() => {
      state = "open";
      buttons.forEach((element) => {
        element.disabled = false;
      });
      status.textContent = "Choose with ↑ or ↓, then 1, 2 or 3.";
    }, trial.initial_wait_ms);
  }
}

/* ---- the session file: IMI's columns and checks (mis/experiment/sessions.py does the same) ---- */

const TRUE = "True";
const FALSE = "False";
const bool = (value) => (value ? TRUE : FALSE);

/* A float as Python's repr writes it (1.0, 0.8, nan). */
function pyFloat(value) {
  if (Number.isNaN(value)) return "nan";
  return Number.isInteger(value) ? value.toFixed(1) : String(value);
}

function checkSession(rows, instructionSeconds, checks) {
  const items = new Map();
  for (const row of rows.filter((r) => r.is_demo)) {
    const key = [row.model, row.layer, row.channel, row.batch].join("\u0000");
    const item = items.get(key) || { shown: 0, solved: false };
    item.shown += 1;
    item.solved = item.solved || row.correct;
    items.set(key, item);
  }
  const rounds = Math.max(0, ...[...items.values()].map((item) => item.shown));
  const unsolved = [...items.values()].filter((item) => !item.solved).length;
  const answers = rows.filter((r) => r.catch_trial && !r.is_demo).map((r) => r.correct);
  const nCatchCorrect = answers.filter(Boolean).length;
  const ratio = answers.length ? nCatchCorrect / answers.length : NaN;
  const total = Math.max(...rows.map((r) => r.time_elapsed)) / 1000;
  const buttons = rows.filter((r) => !r.is_demo).map((r) => r.button_pressed);
  const upper = buttons.filter((b) => b >= 0 && b <= 2).length;
  const lower = buttons.filter((b) => b >= 3 && b <= 5).length;
  const results = {
    demo_trials: unsolved === 0 && rounds <= checks.practice_attempts,
    catch_trials: nCatchCorrect >= Math.min(checks.min_catch_correct, answers.length),
    total_response_time: checks.min_total_seconds <= total && total <= checks.max_total_seconds,
    row_variability: upper + lower <= 1 || Math.max(upper, lower) <= checks.max_same_position * (upper + lower),
    instruction_time: instructionSeconds >= checks.min_instruction_seconds,
  };
  const details = {
    demo_trials: `{'n_demo_trials_blocks': ${rounds}, 'n_unsolved': ${unsolved}}`,
    catch_trials: `{'ratio': ${pyFloat(ratio)}, 'correctly_answered': [${answers.map(bool).join(", ")}]}`,
    total_response_time: `{'total_time': ${pyFloat(total)}}`,
    row_variability: `{'n_upper_row': ${upper}, 'n_lower_row': ${lower}}`,
    instruction_time: `{'total_time': ${pyFloat(instructionSeconds)}}`,
  };
  const names = Object.keys(results);
  const values = { passed_checks: bool(names.every((name) => results[name])) };
  for (const name of names) values[`${name}_result`] = bool(results[name]);
  for (const name of names) values[`${name}_details`] = details[name];
  const extracted = [
    pyFloat(instructionSeconds),
    pyFloat(total),
    String(upper),
    String(lower),
    pyFloat(ratio),
    String(nCatchCorrect),
    String(rounds),
  ];
  return { values, extracted };
}

function csvField(value) {
  const text = value === null || value === undefined ? "" : String(value);
  return /[",\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

function sessionCsv(rows, instructionSeconds, session) {
  const { values, extracted } = checkSession(rows, instructionSeconds, MIS.study.checks);
  const columns = MIS.study.columns;
  const lines = [columns.map(csvField).join(",")];
  for (const row of rows) {
    const cells = {
      rt: row.rt,
      button_pressed: row.button_pressed,
      switched_queries: bool(row.switched_queries),
      confidence: row.confidence,
      choice: row.choice,
      correct: bool(row.correct),
      min_query: row.min_query,
      max_query: row.max_query,
      min_references: JSON.stringify(row.min_references),
      max_references: JSON.stringify(row.max_references),
      catch_trial: bool(row.catch_trial),
      is_demo: bool(row.is_demo),
      trial_type: MIS.study.trial_type,
      trial_index: row.trial_index,
      time_elapsed: row.time_elapsed,
      internal_node_id: row.internal_node_id,
      response_index: 0,
      participant_id: session.participant,
      corrected_trial_index: row.corrected_trial_index,
      task_id: `${MIS.study.name}_natural-${session.assignment}`,
      task_number: session.assignment,
      batch: row.catch_trial ? "" : pyFloat(row.batch),
      channel: row.catch_trial ? "" : pyFloat(row.channel),
      layer: row.layer,
      mode: row.catch_trial ? "catch_trial" : "natural",
      model: row.model,
      ...values,
      multi_participation: FALSE,
    };
    const extractedNames = columns.slice(columns.length - 8, columns.length - 1);
    extractedNames.forEach((name, i) => {
      cells[name] = extracted[i];
    });
    lines.push(columns.map((name) => csvField(cells[name])).join(","));
  }
  return lines.join("\n") + "\n";
}

/* ---- the session ---- */

function randomId() {
  const bytes = crypto.getRandomValues(new Uint8Array(8));
  return [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
}

function safeName(text) {
  return String(text).replace(/[^A-Za-z0-9_-]/g, "_").slice(0, 64);
}

function hashIndex(text, n) {
  let hash = 2166136261;
  for (const char of text) {
    hash = Math.imul(hash ^ char.codePointAt(0), 16777619) >>> 0;
  }
  return hash % n;
}

function collectorUrl(path, query) {
  const base = MIS.study.collector_url;
  const url = new URL(path, new URL(base.endsWith("/") ? base : `${base}/`, window.location.href));
  Object.entries(query).forEach(([key, value]) => url.searchParams.set(key, value));
  return url;
}

async function chooseAssignment(params, participant) {
  const n = MIS.study.n_assignments;
  const given = params.get(MIS.study.parameters.assignment);
  if (given !== null && /^\d+$/.test(given) && Number(given) < n) return Number(given);
  if (MIS.study.collector_url) {
    try {
      const reply = await fetch(collectorUrl("assignment", { participant, n }), { signal: AbortSignal.timeout(5000) });
      const { assignment } = await reply.json();
      if (Number.isInteger(assignment) && assignment >= 0 && assignment < n) return assignment;
    } catch (error) {
      console.warn("collector unreachable, the trial list is chosen from the participant id", error);
    }
  }
  return hashIndex(participant, n);
}

function loadScript(src) {
  return new Promise((resolve, reject) => {
    const script = document.createElement("script");
    script.src = src;
    script.onload = resolve;
    script.onerror = () => reject(new Error(`cannot load ${src}`));
    document.head.append(script);
  });
}

function download(name, csv) {
  const link = document.createElement("a");
  link.href = URL.createObjectURL(new Blob([csv], { type: "text/csv" }));
  link.download = name;
  document.body.append(link);
  link.click();
  link.remove();
}

async function send(csv, session) {
  const url = collectorUrl("sessions", { session: session.id, participant: session.participant, study: session.study });
  for (let attempt = 0; attempt < 3; attempt += 1) {
    try {
      const reply = await fetch(url, { method: "POST", headers: { "Content-Type": "text/csv" }, body: csv });
      if (reply.ok) return "sent";
    } catch (error) {
      console.warn("sending the session failed", error);
    }
    await new Promise((resolve) => setTimeout(resolve, 1000 * (attempt + 1)));
  }
  return "failed";
}

function endPage(record, upload) {
  const display = document.getElementById("study");
  const completion = MIS.study.completion_url
    ? `<p><a id="complete" class="jspsych-btn" href="${MIS.study.completion_url}">Complete the study (Enter)</a></p>`
    : "";
  const sent = {
    sending: "Sending your responses to the researchers…",
    sent: "Your responses were sent to the researchers.",
    failed: "Sending your responses failed: please send the downloaded file to the researchers.",
  };
  display.innerHTML = `
    <div class="end" id="end-page">
      <h1>Thank you!</h1>
      <p>You have completed this study. ${upload ? sent[upload] : ""}</p>
      <p>Your responses were saved as <code>${record.file}</code> in your downloads.
        <button type="button" class="jspsych-btn" id="download-again">Download them again</button></p>
      ${completion}
    </div>`;
  display.querySelector("#download-again").addEventListener("click", () => download(record.file, record.csv));
  (display.querySelector("#complete") || display.querySelector("#download-again")).focus();
}

function message(html, label = "Continue (Enter)") {
  return {
    type: jsPsychInstructions,
    pages: [`<div class="message">${html}</div>`],
    key_forward: "Enter",
    show_clickable_nav: true,
    allow_backward: false,
    button_label_next: label,
    data: { stage: "message" },
  };
}

function instructionPages(nMain, attempts) {
  return [
    "In this study you see groups of images and decide which of two images fits one group better.",
    "On the left and on the right of the screen are two groups of example images: the " +
      "<b>Left examples</b> and the <b>Right examples</b>.",
    "In the centre are two more images. One of them belongs to the Left examples, the other to the " +
      "Right examples. The question is always the same: <b>which image in the centre matches the Right " +
      "examples better?</b>",
    "Between the two centre images are two rows of numbers: the upper row answers with the upper image, " +
      "the lower row with the lower image. The number says how sure you are: 1 = not sure, 2 = fairly " +
      "sure, 3 = very sure. If you are not sure, go with your best guess.",
    "With the keyboard: press <kbd>↑</kbd> or <kbd>↓</kbd> to choose the upper or lower image, then " +
      "<kbd>1</kbd>, <kbd>2</kbd> or <kbd>3</kbd>. <kbd>Tab</kbd> and <kbd>Enter</kbd> work as well.",
    "After your answer a frame shows whether it was right: <b class='afc-right'>green</b> if it was, " +
      "<b class='afc-wrong'>red</b> if not. Press <kbd>Enter</kbd> to go on. Every trial is about other " +
      "images: what you learn in one does not carry over to the next.",
    `First come a few practice trials; one answered wrongly is shown again (at most ${attempts} times ` +
      `in all). Then the ${nMain} real trials start. Press <kbd>←</kbd> to read a page again, ` +
      "<kbd>→</kbd> to go on.",
  ].map((text) => `<div class="message">${text}</div>`);
}

async function run(session, trials) {
  const study = MIS.study;
  const attempts = study.checks.practice_attempts;
  const practice = study.practice;
  const solved = practice.map(() => false);
  const nMain = trials.length;
  const rows = [];
  let instructionSeconds = 0;
  let practiceRows = 0;
  let mainDone = 0;
  let mainCorrect = 0;
  document.getElementById("study").replaceChildren();
  const jsPsych = initJsPsych({
    display_element: "study",
    show_progress_bar: true,
    auto_update_progress_bar: false,
    message_progress_bar: "Progress",
  });
  const progress = () => {
    const done = solved.filter(Boolean).length + mainDone;
    jsPsych.progressBar.progress = Math.min(1, done / (practice.length + nMain));
  };
  const trialNode = (trial, meta) => ({
    type: TwoAfcPlugin,
    min_query: trial.min_query,
    max_query: trial.max_query,
    min_references: trial.min_references,
    max_references: trial.max_references,
    switched: trial.switched,
    header: meta.header,
    ...study.timing,
    on_finish: (data) => {
      const demo = meta.item !== undefined;
      rows.push({
        ...data,
        time_elapsed: Math.round(data.time_elapsed),
        min_query: trial.min_query,
        max_query: trial.max_query,
        min_references: trial.min_references,
        max_references: trial.max_references,
        catch_trial: trial.kind === "catch",
        is_demo: demo,
        internal_node_id: meta.node,
        corrected_trial_index: demo ? practiceRows : meta.position,
        batch: trial.batch,
        channel: trial.channel,
        layer: trial.layer,
        model: trial.model,
      });
      if (demo) {
        practiceRows += 1;
        solved[meta.item] = solved[meta.item] || data.correct;
      } else {
        mainDone += 1;
        mainCorrect += data.correct ? 1 : 0;
      }
      progress();
    },
  });
  const timeline = [
    message(
      "<h1>Welcome!</h1><p>Thank you for taking part. The study takes about 15–25 minutes.</p>" +
        "<p>It works with the mouse or with the keyboard alone.</p>",
      "Start (Enter)",
    ),
    {
      type: jsPsychInstructions,
      pages: instructionPages(nMain, attempts),
      show_clickable_nav: true,
      button_label_next: "Next (→)",
      button_label_previous: "Previous (←)",
      data: { stage: "instructions" },
      on_finish: (data) => {
        instructionSeconds = data.rt / 1000;
      },
    },
  ];
  for (let round = 1; round <= attempts; round += 1) {
    const nodes = practice.map((trial, item) => ({
      timeline: [
        trialNode(trial, {
          item,
          node: `0.0-2.0-${round - 1}.${item}`,
          header: `Practice trial ${item + 1} of ${practice.length}${round > 1 ? ` (attempt ${round})` : ""}`,
        }),
      ],
      conditional_function: () => !solved[item],
    }));
    const again = message(
      "Not every practice trial was answered correctly. The ones answered wrongly are shown once more.",
    );
    timeline.push({
      timeline: round > 1 ? [again, ...nodes] : nodes,
      conditional_function: () => solved.some((done) => !done),
    });
  }
  timeline.push(
    message(`<p>The practice is over. Now the ${nMain} real trials start; feedback is still shown after each.</p>`),
  );
  trials.forEach((trial, position) => {
    timeline.push(
      trialNode(trial, {
        position,
        node: `0.0-4.0-0.${position}`,
        header: () => `Trial ${position + 1} of ${nMain} · Correct so far: ${mainCorrect}`,
      }),
    );
  });
  await jsPsych.run(timeline);
  const csv = sessionCsv(rows, instructionSeconds, session);
  const file = `${safeName(study.name)}_${safeName(session.participant)}_${safeName(session.id)}.csv`;
  const record = { status: "finished", file, csv, assignment: session.assignment };
  localStorage.setItem(session.key, JSON.stringify(record));
  download(file, csv);
  endPage(record, study.collector_url ? "sending" : null);
  if (study.collector_url) endPage(record, await send(csv, session));
}

async function main() {
  const study = MIS.study;
  document.title = `${study.name} · study`;
  const params = new URLSearchParams(window.location.search);
  const storedId = `mis-study:${study.name}:participant`;
  const participant = params.get(study.parameters.participant) || localStorage.getItem(storedId) || randomId();
  localStorage.setItem(storedId, participant);
  const key = `mis-study:${study.name}:session:${participant}`;
  const previous = JSON.parse(localStorage.getItem(key) || "null");
  if (previous && previous.status === "finished") {
    endPage(previous, null);
    return;
  }
  const assignment = await chooseAssignment(params, participant);
  await loadScript(`data/assignment-${assignment}.js`);
  const session = {
    key,
    participant,
    assignment,
    id: params.get(study.parameters.session) || randomId(),
    study: params.get(study.parameters.study) || "",
  };
  localStorage.setItem(key, JSON.stringify({ status: "started", assignment }));
  await run(session, MIS.assignments[assignment]);
}

window.addEventListener("load", () => {
  main().catch((error) => {
    document.getElementById("study").innerHTML = `<p class="error">The study could not start: ${error.message}</p>`;
    throw error;
  });
});
