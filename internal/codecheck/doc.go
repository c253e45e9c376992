// Package codecheck holds tests that keep the tree's shape: checks that
// gofmt, go vet and staticcheck do not make (make lint runs those).
package codecheck
