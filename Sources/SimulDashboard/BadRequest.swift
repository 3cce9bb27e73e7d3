/// A request the dashboard cannot serve as asked: a 400 with this message.
package struct BadRequest: Error, Equatable {
    package var message: String
    package init(_ message: String) { self.message = message }
}
