import { ruleFixtureTests } from "../../testing/rule-tester.js";

for (const id of ["no-failure-alerting", "no-verification-alerting", "reconciliation-suspended", "prune-disabled"]) ruleFixtureTests(import.meta.url, id);
