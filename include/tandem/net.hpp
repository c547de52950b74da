// Networking: TCP, UDP and Unix sockets on the runtime's reactor, name lookup (tokio::net).
#pragma once

#include "tandem/net/resolve.hpp"
#include "tandem/net/socket_address.hpp"
#include "tandem/net/stream_operations.hpp"
#include "tandem/net/tcp_listener.hpp"
#include "tandem/net/tcp_stream.hpp"
#include "tandem/net/udp_socket.hpp"
#include "tandem/net/unix_listener.hpp"
#include "tandem/net/unix_stream.hpp"
