package htmlreport

import (
	_ "embed"
	"html/template"
)

//go:embed report.html.tmpl
var pageText string

var page = template.Must(template.New("report").Parse(pageText))
