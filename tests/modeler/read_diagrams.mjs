// Reads each BPMN file the way Camunda Modeler does (bpmn-moddle with the Camunda 7
// descriptor) and prints, as JSON, every import warning and a summary of what was read.
import { readFile } from "node:fs/promises";
import { BpmnModdle } from "bpmn-moddle";
import camundaDescriptor from "camunda-bpmn-moddle/resources/camunda.json" with { type: "json" };

const moddle = new BpmnModdle({ camunda: camundaDescriptor });
const report = {};
for (const path of process.argv.slice(2)) {
  try {
    const { rootElement, warnings } = await moddle.fromXML(await readFile(path, "utf8"));
    const processes = rootElement.rootElements.filter((e) => e.$type === "bpmn:Process");
    report[path] = {
      warnings: warnings.map((w) => w.message),
      executable: processes.filter((p) => p.isExecutable).map((p) => p.id),
      diagrams: rootElement.diagrams.length,
      shapes: rootElement.diagrams.flatMap((d) => d.plane.planeElement || []).length,
    };
  } catch (error) {
    report[path] = { error: String(error.message || error) };
  }
}
console.log(JSON.stringify(report));
