module github.com/caremetrics/caremetrics

go 1.26

require (
	github.com/expr-lang/expr v1.17.8 // indirect
	go.yaml.in/yaml/v3 v3.0.6 // indirect
)
