import { ruleFixtureTests } from "../../testing/rule-tester.js";

for (const id of ["parse-error", "kustomization-not-rendered", "suppression-invalid"]) ruleFixtureTests(import.meta.url, id);
