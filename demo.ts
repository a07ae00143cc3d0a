/**
 * The main job on data the project makes itself: writes a small synthetic capture (a LAN host
 * resolving and visiting a few sites, with DNS answers from the LAN resolver), converts it with
 * the same code `networksage convert` uses, and prints the Secflows as a table.
 *
 *     deno task demo            (writes demo/demo.pcap and demo/demo.sf)
 * @module
 */
import { convertFile, writeSample } from "./io/convert.ts";
import { writeDemoCapture } from "./bench/synthetic.ts";

const dir = new URL("./demo/", import.meta.url).pathname;
await Deno.mkdir(dir, { recursive: true });
const capture = `${dir}demo.pcap`;
const output = `${dir}demo.sf`;
const packets = await writeDemoCapture(capture);
console.log(`wrote ${capture}: ${packets} packets (synthetic, made by bench/synthetic.ts)`);

const { sample, warnings } = await convertFile(capture, { fileName: "demo.sf" });
for (const w of warnings) console.error(`warning: ${w}`);
if (!sample) {
  console.log("no Secflows");
  Deno.exit(0);
}
await writeSample(output, sample);
console.log(
  `wrote ${output}: ${sample.flashes.length} Secflows, trafficDate ${sample.trafficDate}\n`,
);
const rows = sample.flashes.map((f) => [
  f.src,
  f.dst,
  f.destinationNameSource,
  `${f.srcPkts}/${f.dstPkts}`,
  `${f.srcBytes}/${f.dstBytes}`,
  f.relativeStart.toFixed(6),
  f.duration.toFixed(6),
  f.protocolInformation,
]);
const header = ["src", "dst", "name from", "pkts s/d", "bytes s/d", "start", "duration", ""];
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
const line = (r: string[]) => r.map((c, i) => c.padEnd(widths[i])).join("  ").trimEnd();
console.log(line(header));
for (const r of rows) console.log(line(r));
