package main

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"golang.org/x/text/language"
	"golang.org/x/text/message"
)

// This file lays out the dot plots as numbers the template writes into
// SVG attributes. Every coordinate is formatted with one decimal, so the
// page is the same bytes for the same report.

// Chart geometry, in SVG user units (CSS pixels at 100%).
const (
	chartWidth  = 560.0
	plotRight   = 545.0
	minLeft     = 70.0 // the plot's left edge; the row labels end 8 units left of it
	maxLeft     = 190.0
	charWidth   = 6.6 // of a 12px label, for placing the plot's left edge
	rowHeight   = 22.0
	lineLabelH  = 14.0 // one row of labels above the plot per vertical line
	topPadding  = 6.0
	axisHeight  = 36.0
	labelMaxLen = 26 // runes; longer labels are cut, in full in <title>
)

// point is one row of a dot plot before layout.
type point struct {
	label string
	// rate, when defined, places the dot; lo and hi, when ci, the whisker.
	rate    float64
	defined bool
	lo, hi  float64
	ci      bool
	class   string // dot style: ref, sig or ns
	note    string // instead of a dot: "suppressed (n < 11)", "no eligible members"
	title   string // the row's text alternative
	// mark, when set, draws a short vertical tick at markAt (an overview
	// row's benchmark).
	mark      bool
	markAt    float64
	markTitle string
}

// vline is a vertical line across the plot at value at, labelled above it.
type vline struct {
	at    float64
	class string // reference, overall or benchmark
	label string
}

// axis maps rates to x coordinates.
type axis struct {
	lo, hi, step float64
	percent      bool    // tick labels as percentages of fractions
	decimals     int     // of tick labels
	left         float64 // x of lo; hi is at plotRight
}

func (a axis) x(v float64) float64 {
	if a.hi <= a.lo {
		return a.left
	}
	v = min(max(v, a.lo), a.hi)
	return a.left + (v-a.lo)/(a.hi-a.lo)*(plotRight-a.left)
}

// niceAxis returns an axis covering vals with round ticks: within [0, 1]
// for proportions, from 0 for ratio measures.
func niceAxis(vals []float64, proportion bool) axis {
	mn, mx := math.Inf(1), math.Inf(-1)
	for _, v := range vals {
		if !math.IsNaN(v) && !math.IsInf(v, 0) {
			mn, mx = min(mn, v), max(mx, v)
		}
	}
	if mn > mx { // nothing to show
		mn, mx = 0, 1
	}
	if !proportion {
		mn = 0
	}
	if mx-mn < 1e-9 {
		if proportion {
			mn, mx = mn-0.05, mx+0.05
		} else {
			mx = max(1, 2*mx)
		}
	}
	step := niceStep((mx - mn) / 5)
	lo := math.Floor(mn/step+1e-9) * step
	hi := math.Ceil(mx/step-1e-9) * step
	if proportion {
		lo, hi = max(lo, 0), min(hi, 1)
	}
	a := axis{lo: lo, hi: hi, step: step, percent: proportion, left: minLeft}
	scaled := step
	if proportion {
		scaled *= 100
	}
	for a.decimals < 4 && math.Abs(scaled*math.Pow10(a.decimals)-math.Round(scaled*math.Pow10(a.decimals))) > 1e-6 {
		a.decimals++
	}
	return a
}

// niceStep rounds x up to 1, 2, 2.5 or 5 times a power of ten.
func niceStep(x float64) float64 {
	e := math.Pow10(int(math.Floor(math.Log10(x))))
	// The tolerance keeps 0.25/5 = 0.05000000000000001 a step of 0.05.
	switch f := x/e - 1e-9; {
	case f <= 1:
		return e
	case f <= 2:
		return 2 * e
	case f <= 2.5:
		return 2.5 * e
	case f <= 5:
		return 5 * e
	}
	return 10 * e
}

func (a axis) ticks() []tick {
	var out []tick
	for i := 0; ; i++ {
		v := a.lo + float64(i)*a.step
		if v > a.hi+a.step*1e-6 {
			break
		}
		s := v
		if a.percent {
			s *= 100
		}
		label := strconv.FormatFloat(s, 'f', a.decimals, 64)
		if a.percent {
			label += "%"
		}
		out = append(out, tick{X: coord(a.x(v)), Label: label})
	}
	return out
}

// chart is a laid-out dot plot, ready for the template.
type chart struct {
	ID            string // of the <svg>; its <title> and <desc> are ID-title, ID-desc
	Title, Desc   string
	Width, Height string
	PlotLeft      string
	PlotRight     string
	PlotWidth     string
	PlotTop       string
	PlotBottom    string
	AxisTextY     string
	AxisLabel     string
	AxisLabelX    string
	AxisLabelY    string
	LabelX        string
	Ticks         []tick
	Rows          []chartRow
	Lines         []chartLine
}

type tick struct{ X, Label string }

type chartRow struct {
	Y, TextY, BandY, BandH string
	Band                   bool
	Label, Title           string
	Dot                    bool
	CX, Class              string
	Whisker                bool
	X1, X2, CapY1, CapY2   string
	Note                   string
	NoteX                  string
	Mark                   bool
	MX, MY1, MY2           string
	MarkTitle              string
}

type chartLine struct {
	X, Y1, Y2, Class  string
	Label             string
	LabelX, LabelY    string
	Anchor, LineTitle string
}

func coord(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }

// labelsLeft returns the plot's left edge that leaves room for the
// longest of labels (cut by shorten).
func labelsLeft(labels []string) float64 {
	n := 0
	for _, l := range labels {
		n = max(n, len([]rune(shorten(l))))
	}
	return min(max(minLeft, math.Ceil(float64(n)*charWidth)+14), maxLeft)
}

// layout places the points and lines of one chart on axis a.
func layout(id, title, desc, axisLabel string, a axis, pts []point, lines []vline) *chart {
	plotLeft := a.left
	top := topPadding + lineLabelH*float64(len(lines))
	if len(lines) > 0 {
		top += 4
	}
	bottom := top + rowHeight*float64(max(len(pts), 1))
	c := &chart{
		ID: id, Title: title, Desc: desc,
		Width: coord(chartWidth), Height: coord(bottom + axisHeight),
		PlotLeft: coord(plotLeft), PlotRight: coord(plotRight), PlotWidth: coord(plotRight - plotLeft), PlotTop: coord(top), PlotBottom: coord(bottom),
		AxisTextY: coord(bottom + 14), AxisLabel: axisLabel,
		AxisLabelX: coord((plotLeft + plotRight) / 2), AxisLabelY: coord(bottom + 30),
		LabelX: coord(plotLeft - 8),
		Ticks:  a.ticks(),
	}
	for i, p := range pts {
		y := top + rowHeight*(float64(i)+0.5)
		r := chartRow{
			Y: coord(y), TextY: coord(y + 4), BandY: coord(top + rowHeight*float64(i)), BandH: coord(rowHeight),
			Band: i%2 == 1, Label: shorten(p.label), Title: p.title,
			CapY1: coord(y - 4), CapY2: coord(y + 4),
			Note: p.note, NoteX: coord(plotLeft + 6),
		}
		if p.defined && p.note == "" {
			r.Dot, r.CX, r.Class = true, coord(a.x(p.rate)), p.class
			if p.ci {
				r.Whisker, r.X1, r.X2 = true, coord(a.x(p.lo)), coord(a.x(p.hi))
			}
		}
		if p.mark {
			r.Mark, r.MX, r.MY1, r.MY2, r.MarkTitle = true, coord(a.x(p.markAt)), coord(y-8), coord(y+8), p.markTitle
		}
		c.Rows = append(c.Rows, r)
	}
	for j, l := range lines {
		x := a.x(l.at)
		anchor := "middle"
		switch {
		case x < plotLeft+50:
			anchor = "start"
		case x > plotRight-50:
			anchor = "end"
		}
		ly := topPadding + lineLabelH*float64(j) + 10
		c.Lines = append(c.Lines, chartLine{
			X: coord(x), Y1: coord(top - 2), Y2: coord(bottom), Class: l.class,
			Label: l.label, LabelX: coord(x), LabelY: coord(ly), Anchor: anchor, LineTitle: l.label,
		})
	}
	return c
}

// shorten cuts a label to labelMaxLen runes.
func shorten(s string) string {
	r := []rune(s)
	if len(r) <= labelMaxLen {
		return s
	}
	return strings.TrimSpace(string(r[:labelMaxLen-1])) + "…"
}

// formats of rates and statistics

// rateText formats a rate in the measure's units: a percentage with one
// decimal for a proportion, one decimal (two when unscaled) for a ratio.
func rateText(v float64, ratio bool, mult int64) string {
	if !ratio {
		return strconv.FormatFloat(100*v, 'f', 1, 64) + "%"
	}
	if mult > 1 {
		return strconv.FormatFloat(v, 'f', 1, 64)
	}
	return strconv.FormatFloat(v, 'f', 2, 64)
}

// intervalText formats a proportion's interval as "48.1–56.4%".
func intervalText(lo, hi float64) string {
	return strconv.FormatFloat(100*lo, 'f', 1, 64) + "–" + strconv.FormatFloat(100*hi, 'f', 1, 64) + "%"
}

// signed formats v with an explicit sign (a true minus sign).
func signed(v float64, decimals int) string {
	s := strconv.FormatFloat(math.Abs(v), 'f', decimals, 64)
	if s == strconv.FormatFloat(0, 'f', decimals, 64) {
		return s
	}
	if v < 0 {
		return "−" + s
	}
	return "+" + s
}

func pText(p float64) string {
	if p < 0.001 {
		return "<0.001"
	}
	return strconv.FormatFloat(p, 'f', 3, 64)
}

// counts prints numbers with English digit grouping.
var counts = message.NewPrinter(language.English)

// countText formats a count with thousands separators: 30,581.
func countText(n int64) string { return counts.Sprintf("%d", n) }

// multiplierText is "per 1,000" for a multiplier of 1000, "" for 1.
func multiplierText(mult int64) string {
	if mult <= 1 {
		return ""
	}
	return fmt.Sprintf("per %s", countText(mult))
}
