/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Deterministic fault injection for crash-safety tests.
 *
 * Each durable step calls mx_fault_point("name"). With MYRMEX_FAULT_AT=N in the
 * environment the process kills itself with SIGKILL at the Nth point reached; with
 * MYRMEX_FAULT_LOG=FILE every point reached is appended to FILE ("N name" per line),
 * so a test can count the points and assert that each one it targets was reached.
 * Without either variable a point costs one branch.
 */
#ifndef MX_CORE_FAULT_H
#define MX_CORE_FAULT_H

void mx_fault_point(const char *name);

#endif
