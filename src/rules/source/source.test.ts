import { ruleFixtureTests } from "../../testing/rule-tester.js";

for (const id of ["gitrepository-unverified", "verify-mode-mismatch", "ocirepository-unverified", "helm-chart-unverified", "source-insecure-transport"]) ruleFixtureTests(import.meta.url, id);
