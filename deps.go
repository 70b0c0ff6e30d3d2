package main

import (
	_ "github.com/99designs/gqlgen/graphql/handler"
	_ "github.com/graph-gophers/dataloader/v7"
	_ "github.com/hashicorp/go-retryablehttp"
	_ "github.com/vektah/gqlparser/v2"
	_ "go.uber.org/goleak"
	_ "go.yaml.in/yaml/v3"
	_ "golang.org/x/sync/errgroup"
	_ "github.com/hashicorp/golang-lru/v2"
)

func main() {}
