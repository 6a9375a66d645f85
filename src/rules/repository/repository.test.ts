import { ruleFixtureTests } from "../../testing/rule-tester.js";

for (const id of ["parse-error", "input-not-assessed", "kustomization-not-rendered", "suppression-invalid"]) ruleFixtureTests(import.meta.url, id);
