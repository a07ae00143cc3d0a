/**
 * The main job on data the project makes itself: writes a small synthetic capture (a LAN host
 * resolving and visiting a few sites, with DNS answers from the LAN resolver), converts it with
 * the same code `networksage convert` uses, and prints the Secflows as `networksage view` does.
 *
 *     deno task demo            (writes demo/demo.pcap and demo/demo.sf)
 *
 * `demo/` is made in the working directory (the repository's root under `deno task demo`; any
 * other folder with `deno task --cwd DIR demo`).
 * @module
 */
import { convertFile, writeSample } from "./io/convert.ts";
import { writeDemoCapture } from "./bench/synthetic.ts";
import { formatDate } from "./cli/_format.ts";
import { main } from "./cli.ts";

const dir = `${Deno.cwd()}/demo/`;
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
  `wrote ${output}: ${sample.flashes.length} Secflows, traffic from ` +
    `${formatDate(Number(sample.trafficDate))}\n`,
);
Deno.exitCode = await main(["view", output]);
console.log("\nnext: networksage view|stats|report demo/demo.sf (see the README's tour)");
