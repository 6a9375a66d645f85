import { ruleFixtureTests } from "../../testing/rule-tester.js";

for (const id of ["helmrelease-privileged-values", "helmrelease-unpinned-chart", "helmrelease-no-remediation"]) ruleFixtureTests(import.meta.url, id);
