package main

import (
	"bufio"
	_ "embed"
	"html/template"
	"io"
)

// reportTemplate is the page: inline CSS, inline SVG, no scripts and no
// external resources.
//
//go:embed report.html.tmpl
var reportTemplate string

var tmpl = template.Must(template.New("report").Parse(reportTemplate))

// render writes the page as HTML.
func render(w io.Writer, p *page) error {
	bw := bufio.NewWriter(w)
	if err := tmpl.Execute(bw, p); err != nil {
		return err
	}
	return bw.Flush()
}
