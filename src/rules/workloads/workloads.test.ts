import { ruleFixtureTests } from "../../testing/rule-tester.js";

for (const id of ["workload-privileged", "workload-mutable-image-tag"]) ruleFixtureTests(import.meta.url, id);
