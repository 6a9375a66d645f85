import { ruleFixtureTests } from "../../testing/rule-tester.js";

for (const id of ["flux-api-removed", "flux-schema-violation"]) ruleFixtureTests(import.meta.url, id);
