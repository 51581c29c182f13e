// The library's HTTP through java.net.HttpURLConnection: no dependency, works on Android and on
// the JVM (the binding tests use this very file). Pacenote calls send() on its own worker
// thread, never the main one, so blocking here is fine. Swap in OkHttp by implementing
// HttpTransport the same way.
package dev.pacenote.android

import dev.pacenote.HttpHeader
import dev.pacenote.HttpRequest
import dev.pacenote.HttpResponse
import dev.pacenote.HttpTransport
import dev.pacenote.TransportFailure
import java.io.IOException
import java.net.HttpURLConnection
import java.net.SocketTimeoutException
import java.net.URL

class HttpUrlConnectionTransport(
    private val connectTimeoutMs: Int = 15_000,
    private val readTimeoutMs: Int = 30_000,
) : HttpTransport {
    override fun send(request: HttpRequest): HttpResponse {
        val connection = try {
            URL(request.url).openConnection() as HttpURLConnection
        } catch (e: IOException) {
            throw TransportFailure.NoConnection("${request.url}: ${e.message}")
        }
        try {
            connection.requestMethod = request.method
            connection.connectTimeout = connectTimeoutMs
            connection.readTimeout = readTimeoutMs
            connection.instanceFollowRedirects = false
            connection.useCaches = false
            for (header in request.headers) connection.setRequestProperty(header.name, header.value)
            if (request.method != "GET") {
                connection.doOutput = true
                connection.setFixedLengthStreamingMode(request.body.size)
                connection.outputStream.use { it.write(request.body) }
            }
            val status = connection.responseCode
            // An error status has its body on errorStream (null when there is none).
            val stream = if (status >= 400) connection.errorStream else connection.inputStream
            val body = stream?.use { it.readBytes() } ?: ByteArray(0)
            val headers = connection.headerFields
                .filterKeys { it != null }
                .flatMap { (name, values) -> values.map { HttpHeader(name!!, it) } }
            return HttpResponse(status.toUShort(), headers, body)
        } catch (e: SocketTimeoutException) {
            throw TransportFailure.Timeout("${request.method} ${request.url}: ${e.message}")
        } catch (e: IOException) {
            throw TransportFailure.NoConnection("${request.method} ${request.url}: ${e.message}")
        } finally {
            connection.disconnect()
        }
    }
}
