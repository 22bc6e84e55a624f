// Render Mermaid files to SVG beside each source, in ONE headless Chromium.
//
//   node render.mjs <puppeteer-config.json> <file.mmd>...
//
// Launching Chromium costs ~1 s; `mmdc` launches one per file, so `make diagrams` calls this
// instead. Prints one line per file ("ok <path>" / "error <path>: <message>") and exits 1 when
// any file failed, after trying every file.
import fs from "node:fs";
import puppeteer from "puppeteer";
import { renderMermaid } from "@mermaid-js/mermaid-cli";

const RENDER_TIMEOUT_MS = 60_000;

function withTimeout(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

async function main([configPath, ...inputs]) {
  if (!configPath || inputs.length === 0) {
    console.error("usage: node render.mjs <puppeteer-config.json> <file.mmd>...");
    return 2;
  }
  const launchOptions = JSON.parse(fs.readFileSync(configPath, "utf-8"));
  const browser = await withTimeout(puppeteer.launch(launchOptions), RENDER_TIMEOUT_MS, "launch");
  let failures = 0;
  try {
    for (const input of inputs) {
      const output = input.replace(/\.mmd$/, ".svg");
      try {
        const definition = fs.readFileSync(input, "utf-8");
        const { data } = await withTimeout(
          renderMermaid(browser, definition, "svg", { mermaidConfig: { theme: "default", handDrawnSeed: 1 } }),
          RENDER_TIMEOUT_MS,
          "render",
        );
        fs.writeFileSync(output, data);
        console.log(`ok ${input}`);
      } catch (err) {
        failures += 1;
        const message = String(err?.message ?? err).split("\n").slice(0, 4).join(" / ");
        console.log(`error ${input}: ${message}`);
      }
    }
  } finally {
    await browser.close();
  }
  return failures === 0 ? 0 : 1;
}

process.exitCode = await main(process.argv.slice(2));
