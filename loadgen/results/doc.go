// Package results is the one home of chatbench's results file (schema
// Schema, documented in docs/results-schema.md): the types that swarm,
// sweep and report merge write and that estimate and the reports read; the
// derived figures (percentiles, loss ratio, cost per delivery and per
// connection) computed from stored raw values by one function each; the
// outcome of a run (complete, overloaded, invalid, partial) and its SLO;
// exact merging (Merge, built from an add method per part); safe file
// writing; and the text reporters (summary, HdrHistogram percentile text).
//
// Every figure that could not be measured is a Figure with the reason,
// never a zero, a negative value or a partial sum.
package results
