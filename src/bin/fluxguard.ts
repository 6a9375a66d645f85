#!/usr/bin/env node
import { main } from "../cli/main.js";
import { processIO } from "../cli/io.js";

const code = await main(process.argv.slice(2), processIO());
process.exitCode = code;
