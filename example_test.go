package vlmrt_test

import (
	"context"
	"fmt"
	"log"

	"github.com/vlmrt/vlmrt"
)

// The tiny random checkpoint in testdata answers with meaningless text, but
// deterministically: greedy decoding is the default.
const modelDir = "testdata/tiny-a"

func Example() {
	ctx := context.Background()
	m, err := vlmrt.Open(ctx, modelDir)
	if err != nil {
		log.Fatal(err)
	}
	defer m.Close()

	chat := m.NewChat(vlmrt.WithGenerate(vlmrt.GenerateOptions{MaxTokens: 8}))
	msg := vlmrt.User(vlmrt.ImageFile("testdata/tiny-a/golden/image1.png"), vlmrt.Text("Describe this image."))
	n := 0
	for tok, err := range chat.Send(ctx, msg) {
		if err != nil {
			log.Fatal(err)
		}
		n++
		_ = tok.Text // print it as it arrives in a real program
	}
	st := chat.Stats()
	fmt.Println("tokens:", n, "prompt:", st.PromptTokens, "finish:", st.FinishReason)
	// Output: tokens: 8 prompt: 210 finish: length
}

func ExampleModel_Generate() {
	ctx := context.Background()
	m, err := vlmrt.Open(ctx, modelDir)
	if err != nil {
		log.Fatal(err)
	}
	defer m.Close()
	resp, err := m.Generate(ctx, vlmrt.Request{
		Messages:        []vlmrt.Message{vlmrt.User(vlmrt.Text("Hello!"))},
		GenerateOptions: vlmrt.GenerateOptions{MaxTokens: 4},
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(len(resp.Tokens), resp.FinishReason, resp.Stats.PrefillTokens)
	// Output: 4 length 10
}

func ExampleChat_SendFunc() {
	ctx := context.Background()
	m, err := vlmrt.Open(ctx, modelDir)
	if err != nil {
		log.Fatal(err)
	}
	defer m.Close()
	chat := m.NewChat(vlmrt.WithSystem("You are terse."), vlmrt.WithGenerate(vlmrt.GenerateOptions{MaxTokens: 3}))
	count := 0
	resp, err := chat.SendFunc(ctx, vlmrt.User(vlmrt.Text("Hi")), func(t vlmrt.Token) error {
		count++ // stream tokens to a UI here
		return nil
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(count, resp.FinishReason)
	// Output: 3 length
}
