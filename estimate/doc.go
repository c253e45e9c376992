// Package estimate holds chatbench's capacity maths: the blog's
// back-of-envelope arithmetic done exactly as the blog does it, the fan-out
// model that corrects it, the blog's claims as data with a verdict rule that
// compares each claim with measured swarm/sweep results, the planning maths for
// many nodes, the knee search used by sweep, and the reports (a table for
// people, JSON for machines, built from one Report value so both carry the
// same numbers).
//
// Everything here is pure: no network, no clocks except the one passed to the
// knee search. The command layer (cmd/estimate.go) only parses flags into a
// Config and calls Build, then Report.WriteTable or Report.WriteJSON.
//
// Units. Sizes are bytes and use SI prefixes as people write them on memory
// and disk labels: KB = 1,000 B, MB = 10^6 B, GB = 10^9 B, TB = 10^12 B; the
// binary prefixes are spelled out: KiB = 2^10, MiB = 2^20, GiB = 2^30,
// TiB = 2^40. This is also the blog's convention: "8 GB / 10 KB = 800,000"
// only comes out exactly with decimal units (8,000,000 KB / 10 KB).
// Bit rates (1Gbps, 100Mbit/s, 10Gb/s) are decimal bits per second; a capital
// B in a rate (100MB/s) means bytes. Message rates are events per second,
// written 10/s, 600/min, 1/h or 0.5/s.
//
// The fan-out model. Every message is delivered to every member of its room,
// the sender included (the reference server's protocol): deliveries/s =
// senders × rate × room size. A delivery on the wire is a server-to-client
// WebSocket frame (header 2 B for payloads ≤ 125 B, 4 B ≤ 65,535 B, else
// 10 B) around the JSON envelope {"user":"U","room":"R","message":"M"}
// (34 B + names + message). CPU: cores × 10⁶ / (µs per delivery) deliveries/s,
// so one room of N members who all send at r holds N = √(capacity / r).
// Memory: RAM / (KB per connection). Defaults where nothing is measured: the
// blog's 10 KB per connection, 3 µs per delivery, 10 µs per broker message,
// 8-byte user and 4-byte room names; every number says where it came from.
//
// Verdicts (claims*.go). Each claim is judged for each server measured
// (chatbench serve memory/redis/rabbitmq, or a server at a URL), every
// figure labelled measured, model or blog. A claimed number or range holds
// when the measured value is within 2× of it (or inside the range), else it
// is "off by N×"; claims 3 and 4 compare the run's measured deliveries/s
// (and bytes) with the blog's arithmetic done with the run's own numbers;
// claims 5, 7a and 8 compare a sweep knee with the claim scaled by
// ScaleClaim (the one scaling rule: the delivery capacity the claim asks,
// × cores, back into users in the knee's load shape), undecided when the
// knee's spread straddles it; claim 6, O(N) CPU per message, is fitted over
// room-rate sweep steps and refuted above exponent 1.25; claim 7b holds
// when redis/memory CPU per delivery < 1; claims 9 and 10 count deliveries
// lost across broker faults in chaos results. Below 100 connections, 10,000
// deliveries or 100 CPU clock ticks a claim says "too little data"; runs
// that were not complete or failed their SLO are listed and not used.
// Claims without data say which run would measure them.
//
// Results files are read with loadgen/results (docs/results-schema.md),
// plus the sweep fields a newer sweep writes (mode, knee_low, knee_high,
// repeat, server), read when present; memory per connection is converted
// to KB of 1,000 B on reading.
package estimate
