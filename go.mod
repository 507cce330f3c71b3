module github.com/caremetrics/caremetrics

go 1.26
