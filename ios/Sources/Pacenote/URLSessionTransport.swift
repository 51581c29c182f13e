// The library's HTTP through URLSession. Pacenote calls send(request:) on its own worker
// thread (never the main one) and waits for the answer, so blocking on a semaphore here is
// what it expects. Not compiled on the Linux CI machines: written against the generated
// Pacenote.swift (HttpTransport, HttpRequest, HttpResponse, HttpHeader, TransportFailure).
import Foundation

public final class URLSessionTransport: HttpTransport, @unchecked Sendable {
    private let session: URLSession

    /// `configuration` defaults to an ephemeral session with the library's 30 s budget.
    public init(configuration: URLSessionConfiguration? = nil) {
        let config = configuration ?? {
            let c = URLSessionConfiguration.ephemeral
            c.timeoutIntervalForRequest = 30
            c.waitsForConnectivity = false // the library retries; the host reports connectivity
            return c
        }()
        session = URLSession(configuration: config)
    }

    public func send(request: HttpRequest) throws -> HttpResponse {
        guard let url = URL(string: request.url) else {
            throw TransportFailure.Other(reason: "not a URL: \(request.url)")
        }
        var urlRequest = URLRequest(url: url)
        urlRequest.httpMethod = request.method
        for header in request.headers {
            urlRequest.setValue(header.value, forHTTPHeaderField: header.name)
        }
        if request.method != "GET" {
            urlRequest.httpBody = request.body
        }
        let done = DispatchSemaphore(value: 0)
        var result: Result<HttpResponse, TransportFailure> = .failure(.Other(reason: "no answer"))
        let task = session.dataTask(with: urlRequest) { data, response, error in
            defer { done.signal() }
            if let error = error as? URLError {
                switch error.code {
                case .timedOut:
                    result = .failure(.Timeout(reason: error.localizedDescription))
                default:
                    result = .failure(.NoConnection(reason: error.localizedDescription))
                }
                return
            }
            guard let http = response as? HTTPURLResponse else {
                result = .failure(.Other(reason: error?.localizedDescription ?? "not an HTTP answer"))
                return
            }
            let headers = http.allHeaderFields.compactMap { key, value -> HttpHeader? in
                guard let name = key as? String else { return nil }
                return HttpHeader(name: name, value: "\(value)")
            }
            result = .success(HttpResponse(status: UInt16(http.statusCode), headers: headers, body: data ?? Data()))
        }
        task.resume()
        done.wait()
        return try result.get()
    }
}
