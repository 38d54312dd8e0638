package main

import (
	"net/http"
	"sync"

	"github.com/gorilla/websocket"
)

// hub is gorilla's examples/chat Hub, one per room, carrying prepared
// messages instead of []byte: a broadcast is encoded once and every
// client's writer sends the same frame. Only run touches clients.
type hub struct {
	clients    map[*client]bool
	broadcast  chan *websocket.PreparedMessage
	register   chan *client
	unregister chan *client
}

func newHub() *hub {
	return &hub{
		clients:    make(map[*client]bool),
		broadcast:  make(chan *websocket.PreparedMessage),
		register:   make(chan *client),
		unregister: make(chan *client),
	}
}

// run is the chat example's loop: a client whose send channel is full is
// closed and dropped.
func (h *hub) run() {
	for {
		select {
		case c := <-h.register:
			h.clients[c] = true
		case c := <-h.unregister:
			if _, ok := h.clients[c]; ok {
				delete(h.clients, c)
				close(c.send)
			}
		case pm := <-h.broadcast:
			for c := range h.clients {
				select {
				case c.send <- pm:
				default:
					close(c.send)
					delete(h.clients, c)
				}
			}
		}
	}
}

// rooms maps a room name to its hub. A hub is started on first use and
// lives as long as the process, like the chat example's single hub.
type rooms struct {
	mu   sync.Mutex
	hubs map[string]*hub
}

func newRooms() *rooms {
	return &rooms{hubs: make(map[string]*hub)}
}

// get returns the room's hub, starting it if needed. Safe from any goroutine.
func (rs *rooms) get(name string) *hub {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	h, ok := rs.hubs[name]
	if !ok {
		h = newHub()
		rs.hubs[name] = h
		go h.run()
	}
	return h
}

// serveWs is the chat example's serveWs with a room chosen by the query.
func (rs *rooms) serveWs(w http.ResponseWriter, r *http.Request) {
	room := r.URL.Query().Get("room")
	if room == "" {
		room = "lobby"
	}
	conn, err := upgrader.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	c := &client{hub: rs.get(room), conn: conn, send: make(chan *websocket.PreparedMessage, sendBuffer)}
	c.hub.register <- c
	go c.writePump()
	go c.readPump()
}
