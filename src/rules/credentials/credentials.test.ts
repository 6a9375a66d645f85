import { ruleFixtureTests } from "../../testing/rule-tester.js";

for (const id of ["plaintext-secret-in-git", "git-https-credentials", "ssh-known-hosts-missing", "hardcoded-credential-in-values", "flux-egress-unrestricted", "helmrepository-pass-credentials"]) ruleFixtureTests(import.meta.url, id);
